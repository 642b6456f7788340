"""A batch's metric points as one set of numpy columns per series, built without touching the
database.

The ingester's reader thread builds these while the writer thread waits on the previous
batch's transaction, so the per-point Python work overlaps the database's. Each series'
columns are sorted by step with each step once: of several points of one step in the batch,
the one of the greatest (attempt, seq) wins, and within one event the later one.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from runyard.schemas.events import AnyEvent, MetricsEvent, ReceivedMetricsEvent
from server.metrics.columns import NO_EPOCH, PointColumns, newest_per_step


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
        (e for e in events if isinstance(e, MetricsEvent | ReceivedMetricsEvent)),
        key=lambda e: (e.attempt, e.seq),
    )
    index: dict[tuple[str, str], int] = {}
    series: list[int] = []
    steps: list[int] = []
    values: list[float | None] = []
    epochs: list[int | None] = []
    walls: list[float] = []
    attempts: list[int] = []
    seqs: list[int] = []
    for event in metrics:
        n = len(event.points)
        if isinstance(event, ReceivedMetricsEvent):
            fields = event.points
            point_keys = [p["key"] for p in fields]
            steps.extend([p["step"] for p in fields])
            values.extend([p["value"] for p in fields])
            epochs.extend([p.get("epoch") for p in fields])
            walls.extend([p["wall_time"] for p in fields])
        else:
            points = event.points
            point_keys = [p.key for p in points]
            steps.extend([p.step for p in points])
            values.extend([p.value for p in points])
            epochs.extend([p.epoch for p in points])
            walls.extend([p.wall_time for p in points])
        keys = set(point_keys)
        for key in sorted(keys):
            index.setdefault((event.run_id, key), len(index))
        if len(keys) == 1:
            series.extend([index[(event.run_id, keys.pop())]] * n)
        else:
            series.extend([index[(event.run_id, k)] for k in point_keys])
        attempts.extend([event.attempt] * n)
        seqs.extend([event.seq] * n)
    if not steps:
        return MetricRows()
    sid = np.array(series, dtype=np.int64)
    # None becomes NaN: a null value comes from an older worker, which wrote every non-finite
    # value as null, and NaN is the honest reading of "not a number we know".
    value = np.array(values, dtype=np.float64)
    epoch = np.array(epochs, dtype=np.float64)
    columns = PointColumns(
        step=np.array(steps, dtype=np.int64),
        value=value,
        epoch=np.where(np.isnan(epoch), NO_EPOCH, epoch).astype(np.int64),
        wall_time=np.array(walls, dtype=np.float64),
        attempt=np.array(attempts, dtype=np.int64),
        seq=np.array(seqs, dtype=np.int64),
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
