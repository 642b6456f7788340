"""Events that workers publish to Redis Streams and the server's ingester stores.

Delivery is at least once. Each event carries (run_id, attempt, seq), unique per run attempt,
so the ingester can store it idempotently, and the attempt's fencing number and the worker that
wrote it, so the ingester stores it only if that worker holds that attempt. Metric points are keyed by (run_id, key, step): a
run resumed from a checkpoint re-emits the steps after that checkpoint, and the newer attempt's
value replaces the older one, so a series has each step exactly once.
"""

import base64
import binascii
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired, Self

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    model_validator,
    with_config,
)
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


def _from_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from None
    return value


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


PackedColumn = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(_to_base64, when_used="json"),
    Field(description="little-endian 8-byte numbers, one per point, base64 in JSON"),
]
"""Standard base64 (no line breaks) of the raw column, so one JSON string carries a column."""

NO_EPOCH = -1
"""A point without an epoch, in MetricColumnsEvent's epoch column."""

_MAX_STEP = 2**62
_MAX_EPOCH = 2**31 - 1
_MAX_POINTS = 100_000


class MetricColumnsEvent(_EventBase):
    """Metric points as columns: what workers send (a MetricsEvent costs the ingester a JSON
    object per point to read; this costs it one base64 string per column). The points of
    `keys[0]` come first (`counts[0]` of them), then those of `keys[1]`, and so on; within a
    key, in the order they were logged (of two points of one step, the later one counts).
    The same rules as MetricPoint: steps 0..2**62, epochs 0..2**31-1 or NO_EPOCH, finite wall
    times; values are any float64, bit for bit (NaN, +inf and -inf as themselves)."""

    kind: Literal["metric_columns"] = "metric_columns"
    keys: list[MetricKey] = Field(min_length=1, max_length=_MAX_POINTS)
    counts: list[Annotated[int, Field(ge=1)]]
    step: PackedColumn
    value: PackedColumn
    epoch: PackedColumn
    wall_time: PackedColumn

    @model_validator(mode="after")
    def _columns_agree(self) -> Self:
        if len(self.counts) != len(self.keys):
            raise ValueError(f"{len(self.keys)} keys but {len(self.counts)} counts")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("a key appears twice in keys")
        total = sum(self.counts)
        if total > _MAX_POINTS:
            raise ValueError(f"{total} points; an event holds at most {_MAX_POINTS}")
        for name in ("step", "value", "epoch", "wall_time"):
            size = len(getattr(self, name))
            if size != 8 * total:
                raise ValueError(f"{name} column is {size} bytes; {total} points need {8 * total}")
        step, _, epoch, wall_time = self.arrays()
        if step.min() < 0 or step.max() > _MAX_STEP:
            raise ValueError(f"a step is outside 0..{_MAX_STEP}")
        if epoch.min() < NO_EPOCH or epoch.max() > _MAX_EPOCH:
            raise ValueError(f"an epoch is outside 0..{_MAX_EPOCH} (or {NO_EPOCH} for none)")
        if not np.isfinite(wall_time).all():
            raise ValueError("a wall time is not finite")
        return self

    def arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[Any]
    ]:
        """step, value, epoch, wall_time as numpy arrays (read-only views of the bytes)."""
        return (
            np.frombuffer(self.step, dtype="<i8"),
            np.frombuffer(self.value, dtype="<f8"),
            np.frombuffer(self.epoch, dtype="<i8"),
            np.frombuffer(self.wall_time, dtype="<f8"),
        )

    @property
    def points(self) -> list[MetricPoint]:
        """The points one by one (for tests and tools; the ingester reads the columns)."""
        step, value, epoch, wall_time = (a.tolist() for a in self.arrays())
        keys = [k for k, n in zip(self.keys, self.counts, strict=True) for _ in range(n)]
        return [
            MetricPoint(key=k, step=s, value=v, epoch=None if e == NO_EPOCH else e, wall_time=w)
            for k, s, v, e, w in zip(keys, step, value, epoch, wall_time, strict=True)
        ]

    @classmethod
    def of_points(cls, points: Iterable[MetricPoint], **envelope: Any) -> "MetricColumnsEvent":
        """The points (validated already, as MetricPoints) as one event, grouped by key in the
        order the keys first appear, each key's points in their order."""
        by_key: dict[str, list[MetricPoint]] = {}
        for point in points:
            by_key.setdefault(point.key, []).append(point)
        ordered = [p for group in by_key.values() for p in group]
        return cls.model_validate(
            {
                **envelope,
                "keys": list(by_key),
                "counts": [len(group) for group in by_key.values()],
                "step": _pack("<i8", [p.step for p in ordered]),
                "value": _pack("<f8", [math.nan if p.value is None else p.value for p in ordered]),
                "epoch": _pack("<i8", [NO_EPOCH if p.epoch is None else p.epoch for p in ordered]),
                "wall_time": _pack("<f8", [p.wall_time for p in ordered]),
            }
        )


def _pack(dtype: str, values: list[Any]) -> bytes:
    return np.asarray(values, dtype=dtype).tobytes()


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
    LogEvent | MetricsEvent | MetricColumnsEvent | StateEvent | CheckpointEvent,
    Field(discriminator="kind"),
]
EventAdapter: TypeAdapter[Event] = TypeAdapter(Event)

ReceivedEvent = Annotated[
    LogEvent | ReceivedMetricsEvent | MetricColumnsEvent | StateEvent | CheckpointEvent,
    Field(discriminator="kind"),
]
ReceivedEventAdapter: TypeAdapter[ReceivedEvent] = TypeAdapter(ReceivedEvent)
"""Reads what EventAdapter writes; metrics events come back as ReceivedMetricsEvent. Workers
send MetricColumnsEvent; MetricsEvent (one JSON object per point) is what older workers sent,
still read, since a stream may hold such entries while a deployment upgrades. (Upgrade the
server before the workers: an older ingester dead-letters MetricColumnsEvent.)"""

AnyEvent = (
    LogEvent
    | MetricsEvent
    | ReceivedMetricsEvent
    | MetricColumnsEvent
    | StateEvent
    | CheckpointEvent
)
"""What the ingester's writer stores: events as sent (tests, journals) or as received."""
