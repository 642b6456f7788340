"""The one-row-per-point metric model the block store replaced, kept as the tests' reference.

A `reference_metric_points` table shaped like the old `metric_points` (one row per series and
step, with the attempt and seq of the event that wrote it), written with the old upsert: a
batch keeps the last of its points per step (events sorted by (attempt, seq)), and a stored
row is replaced by a point whose (attempt, seq) is not smaller. The old rule compared only the
attempt; with several ingesters a late copy of an older event of the same attempt must not
undo a newer one, so both models now compare (attempt, seq).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from runyard.schemas.events import Event, MetricsEvent

metadata = MetaData()
reference = Table(
    "reference_metric_points",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("epoch", Integer),
    Column("value", Float),
    Column("value_kind", String(4), nullable=False),
    Column("wall_time", Float),
    Column("attempt", Integer),
    Column("seq", BigInteger),
)
# SQLite stores NaN as NULL, so the row also says which value it was: the reference must tell
# NaN, +inf and -inf apart on both backends, independently of the code under test.

_UPSERT = text(
    "INSERT INTO reference_metric_points (run_id, key, step, epoch, value, value_kind,"
    " wall_time, attempt, seq) VALUES (:run_id, :key, :step, :epoch, :value, :value_kind,"
    " :wall_time, :attempt, :seq) ON CONFLICT (run_id, key, step) DO UPDATE SET"
    " epoch = excluded.epoch, value = excluded.value, value_kind = excluded.value_kind,"
    " wall_time = excluded.wall_time, attempt = excluded.attempt, seq = excluded.seq"
    " WHERE excluded.attempt > reference_metric_points.attempt"
    " OR (excluded.attempt = reference_metric_points.attempt"
    " AND excluded.seq >= reference_metric_points.seq)"
)


@dataclass(frozen=True)
class RefPoint:
    step: int
    value: object
    """The float, or "NaN" (so that equal series compare equal)."""
    epoch: int | None
    wall_time: float
    attempt: int
    seq: int


def _kind(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return "num"


def comparable(value: float) -> object:
    return "NaN" if math.isnan(value) else value


def write_reference(conn: Connection, events: Sequence[Event]) -> None:
    """One batch, the way the old ingester stored it."""
    rows: dict[tuple[str, str, int], dict[str, object]] = {}
    metrics = sorted(
        (e for e in events if isinstance(e, MetricsEvent)), key=lambda e: (e.attempt, e.seq)
    )
    for event in metrics:
        for p in event.points:
            value = math.nan if p.value is None else p.value
            rows[(event.run_id, p.key, p.step)] = {
                "run_id": event.run_id,
                "key": p.key,
                "step": p.step,
                "epoch": p.epoch,
                "value": None if math.isnan(value) else value,
                "value_kind": _kind(value),
                "wall_time": p.wall_time,
                "attempt": event.attempt,
                "seq": event.seq,
            }
    if rows:
        conn.execute(_UPSERT, list(rows.values()))


def reference_series(conn: Connection, run_id: str, key: str) -> list[RefPoint]:
    result = conn.execute(
        text(
            "SELECT step, value, value_kind, epoch, wall_time, attempt, seq"
            " FROM reference_metric_points WHERE run_id = :run_id AND key = :key ORDER BY step"
        ),
        {"run_id": run_id, "key": key},
    )
    kinds = {"nan": "NaN", "+inf": math.inf, "-inf": -math.inf}
    return [
        RefPoint(r.step, kinds.get(r.value_kind, r.value), r.epoch, r.wall_time, r.attempt, r.seq)
        for r in result
    ]
