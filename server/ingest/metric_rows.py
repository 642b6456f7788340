"""A batch's metric points as one set of numpy columns per series, built without touching the
database.

The ingester's reader thread builds these while the writer thread waits on the previous
batch's transaction, so its work overlaps the database's. Events of the columnar format
(MetricColumnsEvent, what workers send) cost no Python per point: their columns are read
straight into numpy; the older format (a JSON object per point) is still read. Each series'
columns are sorted by step with each step once: of several points of one step in the batch,
the one of the greatest (attempt, seq) wins, and within one event the later one.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from runyard.schemas.events import (
    AnyEvent,
    MetricColumnsEvent,
    MetricsEvent,
    ReceivedMetricsEvent,
)
from server.metrics.columns import NO_EPOCH, Float64s, Int64s, PointColumns, newest_per_step


@dataclass
class SeriesPoints:
    run_id: str
    key: str
    points: PointColumns


@dataclass
class MetricRows:
    series: list[SeriesPoints] = field(default_factory=list)
    """In order of first appearance in the batch (oldest event first)."""

    def __len__(self) -> int:
        return sum(len(s.points) for s in self.series)

    @property
    def run_ids(self) -> set[str]:
        return {s.run_id for s in self.series}

    def without_runs(self, run_ids: set[str]) -> "MetricRows":
        return MetricRows([s for s in self.series if s.run_id not in run_ids])


def metric_rows(events: Sequence[AnyEvent]) -> MetricRows:
    """The metric points of `events`, one set of columns per (run, key)."""
    metrics = sorted(
        (
            e
            for e in events
            if isinstance(e, MetricsEvent | ReceivedMetricsEvent | MetricColumnsEvent)
        ),
        key=lambda e: (e.attempt, e.seq),
    )
    index: dict[tuple[str, str], int] = {}
    parts: list[_EventColumns] = []
    for event in metrics:
        if isinstance(event, MetricColumnsEvent):
            part = _columns_event(event, index)
        else:
            part = _points_event(event, index)
        parts.append(part)
    if not parts:
        return MetricRows()
    # One concatenation per column for the whole batch: the per-point work is numpy's.
    sid = np.concatenate([p.series for p in parts])
    epoch = np.concatenate([p.epoch for p in parts])
    counts = [len(p.step) for p in parts]
    columns = PointColumns(
        step=np.concatenate([p.step for p in parts]),
        value=np.concatenate([p.value for p in parts]),
        epoch=epoch,
        wall_time=np.concatenate([p.wall_time for p in parts]),
        attempt=np.repeat(np.array([e.attempt for e in metrics], dtype=np.int64), counts),
        seq=np.repeat(np.array([e.seq for e in metrics], dtype=np.int64), counts),
    )
    pairs = list(index)
    if len(pairs) == 1:
        per_series = [columns]
    else:
        order = np.argsort(sid, kind="stable")  # keeps each series' points in batch order
        bounds = np.searchsorted(sid[order], np.arange(len(pairs) + 1))
        per_series = [columns.take(order[bounds[i] : bounds[i + 1]]) for i in range(len(pairs))]
    return MetricRows(
        [
            SeriesPoints(run_id, key, newest_per_step(points))
            for (run_id, key), points in zip(pairs, per_series, strict=True)
        ]
    )


@dataclass
class _EventColumns:
    """One event's points, in its order, with each point's series number."""

    series: Int64s
    step: Int64s
    value: Float64s
    epoch: Int64s
    wall_time: Float64s


def _number_keys(run_id: str, keys: Sequence[str], index: dict[tuple[str, str], int]) -> None:
    # Within an event, new series are numbered in key order, whichever format it came in.
    for key in sorted(keys):
        index.setdefault((run_id, key), len(index))


def _columns_event(event: MetricColumnsEvent, index: dict[tuple[str, str], int]) -> _EventColumns:
    _number_keys(event.run_id, event.keys, index)
    numbers = np.array([index[(event.run_id, k)] for k in event.keys], dtype=np.int64)
    step, value, epoch, wall_time = event.arrays()
    return _EventColumns(
        series=np.repeat(numbers, event.counts),
        step=step.astype(np.int64),
        value=value.astype(np.float64),
        epoch=epoch.astype(np.int64),
        wall_time=wall_time.astype(np.float64),
    )


def _points_event(
    event: MetricsEvent | ReceivedMetricsEvent, index: dict[tuple[str, str], int]
) -> _EventColumns:
    """An event of the older format (a JSON object per point)."""
    if isinstance(event, ReceivedMetricsEvent):
        fields = event.points
        point_keys = [p["key"] for p in fields]
        steps = [p["step"] for p in fields]
        values = [p["value"] for p in fields]
        epochs = [p.get("epoch") for p in fields]
        walls = [p["wall_time"] for p in fields]
    else:
        points = event.points
        point_keys = [p.key for p in points]
        steps = [p.step for p in points]
        values = [p.value for p in points]
        epochs = [p.epoch for p in points]
        walls = [p.wall_time for p in points]
    keys = set(point_keys)
    _number_keys(event.run_id, list(keys), index)
    if len(keys) == 1:
        series = np.full(len(steps), index[(event.run_id, keys.pop())], dtype=np.int64)
    else:
        series = np.array([index[(event.run_id, k)] for k in point_keys], dtype=np.int64)
    # None becomes NaN: a null value comes from an older worker, which wrote every non-finite
    # value as null, and NaN is the honest reading of "not a number we know".
    epoch = np.array(epochs, dtype=np.float64)
    return _EventColumns(
        series=series,
        step=np.array(steps, dtype=np.int64),
        value=np.array(values, dtype=np.float64),
        epoch=np.where(np.isnan(epoch), NO_EPOCH, epoch).astype(np.int64),
        wall_time=np.array(walls, dtype=np.float64),
    )
