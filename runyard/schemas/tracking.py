"""The wire of runs logged from outside the cluster (`runyard.init`, the trainer logger, the
MLflow-compatible API): creating one, sending it batches of points and params, finishing it.

A batch carries a sequence number the client chose, unique per run: the server stores a batch
once and answers a repeat of it as already stored, so a client may resend any batch it is not
sure about (after a timeout, or from a spool left by a process that crashed).
"""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runyard.schemas.events import MetricValue
from runyard.schemas.states import RunState

MAX_BATCH_POINTS = 10_000
MAX_PARAM_TEXT = 2000


class RunKind(StrEnum):
    scheduled = "scheduled"
    """Submitted as an experiment and run by a worker."""
    external = "external"
    """Logged by a process Runyard did not start; never scheduled."""


ParamValue = str | int | float | bool | None


class ExternalRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, max_length=64, description="an existing project's name")
    name: str = Field(min_length=1, max_length=128, description="the run's (experiment's) name")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="hyperparameters; nested mappings are stored flat, keys joined with '.'",
    )
    tags: list[str] = Field(default_factory=list, max_length=50)


class ExternalPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=200)
    step: int = Field(ge=0, le=2**62)
    value: MetricValue
    epoch: int | None = Field(default=None, ge=0, le=2**31 - 1)
    wall_time: float = Field(allow_inf_nan=False, description="seconds since the epoch")


class ExternalBatch(BaseModel):
    """Points and params of one run, sent together; a repeat of a stored `seq` changes
    nothing."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(
        ge=0, le=2**62, description="the client's number for this batch, unique per run"
    )
    points: list[ExternalPoint] = Field(default_factory=list, max_length=MAX_BATCH_POINTS)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=1000)


class BatchStored(BaseModel):
    seq: int
    duplicate: bool = Field(description="true when this seq was stored before: nothing changed")
    points: int = Field(description="points of the batch stored by this request")


class ExternalFinish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["completed", "failed", "canceled"] = "completed"
    reason: str | None = Field(default=None, max_length=2000)


class ExternalRunPublic(BaseModel):
    """What a client needs to log into a run, new or resumed."""

    id: str
    project_id: str
    experiment_id: str
    name: str
    state: RunState
    last_seq: int | None = Field(description="the greatest batch seq stored, None before any")
    url: str = Field(description="the run's page in the dashboard, relative to the server")
    abandoned: bool = Field(
        default=False,
        description="failed by the scheduler because its client went silent; any batch, "
        "heartbeat or end from its client makes it running again",
    )


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, ParamValue]:
    """Nested mappings flattened with '.'-joined keys; lists and other values as text (JSON
    scalars stay as they are)."""
    flat: dict[str, ParamValue] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_params(value, f"{name}."))
        elif value is None or isinstance(value, str | int | float | bool):
            flat[name] = value
        else:
            flat[name] = str(value)[:MAX_PARAM_TEXT]
    return flat
