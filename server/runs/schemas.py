from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runyard.schemas.states import RunState
from runyard.schemas.tracking import RunKind

RunSort = Literal["created_at", "-created_at", "priority", "-priority"]


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    experiment_id: str
    experiment_name: str
    project_id: str
    owner_id: str
    trial_index: int
    state: RunState
    kind: RunKind = Field(
        default=RunKind.scheduled,
        description="'external': logged from outside the cluster (runyard.init, MLflow), never scheduled",
    )
    attempt: int
    params: dict[str, Any]
    priority: int
    worker_id: str | None
    devices: list[int]
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    exit_reason: str | None
    resume_checkpoint_id: str | None
    rung: int | None = Field(
        default=None,
        description="ASHA trials: the rung it trains for, waits at or ended at (0 is the "
        "first); null before it starts and outside an ASHA search",
    )


class TransitionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: RunState | None
    to_state: RunState
    attempt: int
    reason: str | None
    at: datetime


class RungResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rung: int
    epochs: int = Field(description="epochs trained when it reached the end of the rung")
    value: float | None = Field(description="the search metric there (null: NaN)")


class RunDetail(RunPublic):
    spec: dict[str, Any]
    traceback: str | None
    transitions: list[TransitionPublic]
    isolation: Literal["sandbox", "none"] | None = Field(
        default=None,
        description="how the worker that runs (or last ran) it isolates runs; 'none': this "
        "run's code could reach other runs and the worker (RUNYARD_WORKER_ISOLATION=none)",
    )
    rung_results: list[RungResultPublic] = Field(
        default_factory=list, description="ASHA trials: the metric at the end of each rung"
    )


class RunPage(BaseModel):
    items: list[RunPublic]
    next_cursor: str | None
