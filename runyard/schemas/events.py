"""Events that workers publish to Redis Streams and the server's ingester stores.

Delivery is at least once. Each event carries (run_id, attempt, seq), unique per run attempt,
so the ingester can store it idempotently, and the attempt's fencing number and the worker that
wrote it, so the ingester stores it only if that worker holds that attempt. Metric points are keyed by (run_id, key, step): a
run resumed from a checkpoint re-emits the steps after that checkpoint, and the newer attempt's
value replaces the older one, so a series has each step exactly once.
"""

import math
from datetime import datetime
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic reads only this TypedDict on 3.11

from runyard.schemas.states import RunState


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    attempt: int = Field(ge=1)
    fence: int = Field(ge=1, description="the attempt's fencing number, issued by the scheduler")
    worker: str = Field(
        min_length=1, max_length=200, description="the worker that holds the attempt and wrote this"
    )
    seq: int = Field(ge=0, description="monotonic per (run_id, attempt)")
    ts: datetime


class LogEvent(_EventBase):
    kind: Literal["log"] = "log"
    stream: Literal["stdout", "stderr", "system"] = "stdout"
    lines: list[str] = Field(max_length=10_000)


def _json_float(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


MetricValue = Annotated[float | None, PlainSerializer(_json_float, when_used="json")]
"""JSON has no spelling for NaN and the infinities, so they travel as the strings "NaN",
"Infinity" and "-Infinity", which pydantic reads back as the same floats. (A field serializer
rather than the model's `ser_json_inf_nan`, which only the outermost model's config decides.)"""


MetricKey = Annotated[str, Field(min_length=1, max_length=200)]
MetricStep = Annotated[int, Field(ge=0, le=2**62)]
MetricEpoch = Annotated[int | None, Field(ge=0, le=2**31 - 1)]
MetricValueField = Annotated[
    MetricValue,
    Field(
        description='NaN, +inf and -inf are kept (on the wire "NaN", "Infinity", "-Infinity"); '
        "null, which older workers sent for every non-finite value, is stored as NaN"
    ),
]
WallTime = Annotated[float, Field(allow_inf_nan=False, description="seconds since the epoch")]
"""The rules for a point's fields, once, for both readings of a point below."""


class MetricPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: MetricKey
    step: MetricStep
    epoch: MetricEpoch = None
    value: MetricValueField
    wall_time: WallTime


@with_config(ConfigDict(extra="forbid"))
class MetricPointFields(TypedDict):
    """A MetricPoint read as a plain dict, by the same rules: what the ingester validates a
    stream entry's points into. A model instance per point costs ~4x as much CPU as the dict,
    and the ingester only copies the fields into columns."""

    key: MetricKey
    step: MetricStep
    epoch: NotRequired[MetricEpoch]
    value: MetricValueField
    wall_time: WallTime


class MetricsEvent(_EventBase):
    kind: Literal["metrics"] = "metrics"
    points: list[MetricPoint] = Field(max_length=100_000)


class StateEvent(_EventBase):
    kind: Literal["state"] = "state"
    state: RunState
    reason: str | None = None
    traceback: str | None = None


class CheckpointEvent(_EventBase):
    kind: Literal["checkpoint"] = "checkpoint"
    checkpoint_id: str = Field(description="id the server gave the uploaded checkpoint")
    epoch: int = Field(ge=0)
    step: int = Field(ge=0)
    metrics: dict[str, float] = Field(default_factory=dict)


class ReceivedMetricsEvent(_EventBase):
    """A MetricsEvent as the ingester reads it off the stream: the same JSON, the same rules,
    its points as MetricPointFields dicts."""

    kind: Literal["metrics"] = "metrics"
    points: list[MetricPointFields] = Field(max_length=100_000)


Event = Annotated[
    LogEvent | MetricsEvent | StateEvent | CheckpointEvent, Field(discriminator="kind")
]
EventAdapter: TypeAdapter[Event] = TypeAdapter(Event)

ReceivedEvent = Annotated[
    LogEvent | ReceivedMetricsEvent | StateEvent | CheckpointEvent, Field(discriminator="kind")
]
ReceivedEventAdapter: TypeAdapter[ReceivedEvent] = TypeAdapter(ReceivedEvent)
"""Reads what EventAdapter writes; metrics events come back as ReceivedMetricsEvent."""

AnyEvent = LogEvent | MetricsEvent | ReceivedMetricsEvent | StateEvent | CheckpointEvent
"""What the ingester's writer stores: events as sent (tests, journals) or as received."""
