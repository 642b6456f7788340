"""A run of metric points as numpy columns, and the pure operations the block store needs:
merging a batch into stored points, cutting points into blocks, and each bucket's extremes.

Points of one series are always sorted by step with each step once. Every point remembers the
event that wrote it, (attempt, seq): when two writes meet on one step, the greater pair wins,
so the stored series depends only on the set of events, never on the order they arrive in or
on how often (several ingesters, redelivery, a resumed attempt all give the same answer).
NaN, +inf and -inf are values like any other float; only NaN is "not a value" when extremes
are picked.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.schemas.events import NO_EPOCH as WIRE_NO_EPOCH

Int64s = npt.NDArray[np.int64]
Float64s = npt.NDArray[np.float64]

# How a point without an epoch is held in the int64 epoch column: the wire's own marker, so a
# MetricColumnsEvent's epoch column is taken as it is.
NO_EPOCH = WIRE_NO_EPOCH


@dataclass(frozen=True)
class PointColumns:
    step: Int64s
    value: Float64s
    epoch: Int64s
    """NO_EPOCH where the point has none."""
    wall_time: Float64s
    attempt: Int64s
    seq: Int64s

    def __len__(self) -> int:
        return len(self.step)

    def take(self, index: Any) -> "PointColumns":
        """The points at `index` (an index array, a mask or a slice)."""
        return PointColumns(
            self.step[index],
            self.value[index],
            self.epoch[index],
            self.wall_time[index],
            self.attempt[index],
            self.seq[index],
        )

    def between(self, lo: int, hi: int) -> "PointColumns":
        """The points with lo <= step <= hi (the columns are sorted by step)."""
        begin, end = np.searchsorted(self.step, [lo, hi + 1])
        return self.take(slice(int(begin), int(end)))

    @staticmethod
    def empty() -> "PointColumns":
        i, f = np.empty(0, np.int64), np.empty(0, np.float64)
        return PointColumns(i, f, i, f, i, i)

    @staticmethod
    def concat(parts: Sequence["PointColumns"]) -> "PointColumns":
        if not parts:
            return PointColumns.empty()
        if len(parts) == 1:
            return parts[0]
        return PointColumns(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS)
        )


_FIELDS = ("step", "value", "epoch", "wall_time", "attempt", "seq")


def newest_per_step(columns: PointColumns, position: Int64s | None = None) -> PointColumns:
    """Sorted by step, each step once: the point of the greatest (attempt, seq) and, within one
    event, the later position (an event may carry one step twice)."""
    n = len(columns)
    if position is None:
        position = np.arange(n, dtype=np.int64)
    if n and _strictly_increasing(columns.step):
        return columns
    order = np.lexsort((position, columns.seq, columns.attempt, columns.step))
    ordered = columns.take(order)
    keep = np.ones(n, dtype=bool)
    keep[:-1] = ordered.step[1:] != ordered.step[:-1]  # the last of each step's run wins
    return ordered.take(keep)


def merge(stored: PointColumns, fresh: PointColumns) -> tuple[PointColumns, int]:
    """`fresh` written over `stored` (both sorted, each step once). Returns the merged points
    and how many steps are new (were not stored before)."""
    if not len(stored):
        return fresh, len(fresh)
    if not len(fresh):
        return stored, 0
    if fresh.step[0] > stored.step[-1]:  # the usual case: appending after the last step
        return PointColumns.concat([stored, fresh]), len(fresh)
    both = PointColumns.concat([stored, fresh])
    is_fresh = np.r_[np.zeros(len(stored), np.int64), np.ones(len(fresh), np.int64)]
    # A stored point and a fresh one never share (attempt, seq, step) unless they are the same
    # event's point delivered again: then either is right, and the fresh one is taken.
    merged = newest_per_step(both, is_fresh)
    return merged, len(merged) - len(stored)


def block_slices(count: int, capacity: int) -> list[slice]:
    """Consecutive runs of at most `capacity` points covering `count` points."""
    return [slice(i, min(i + capacity, count)) for i in range(0, count, capacity)]


def _strictly_increasing(steps: Int64s) -> bool:
    return bool(len(steps) < 2 or (steps[1:] > steps[:-1]).all())


@dataclass(frozen=True)
class Extremes:
    """Per bucket: its number, last step, and the index (into the points given) of its min
    and its max point."""

    bucket: Int64s
    last_step: Int64s
    low: Int64s
    high: Int64s


def bucket_extremes(
    steps: Int64s, values: Float64s, width: int, last_steps: Int64s | None = None
) -> Extremes:
    """The min and max point of each `width`-step bucket of step-sorted points. Ties keep the
    earlier step; NaN is never an extreme unless its bucket holds nothing else, and then the
    bucket's first point stands for both (infinities are ordinary extremes). `last_steps`, when
    given, is each point's own last step (for points that stand for finer buckets)."""
    if not len(steps):
        empty = np.empty(0, np.int64)
        return Extremes(empty, empty, empty, empty)
    buckets = steps // width
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(steps)]
    last = steps[ends - 1] if last_steps is None else np.maximum.reduceat(last_steps, starts)
    return Extremes(
        buckets[starts],
        last.astype(np.int64),
        _first_extreme(values, starts, ends, np.fmin),
        _first_extreme(values, starts, ends, np.fmax),
    )


def _first_extreme(values: Float64s, starts: Int64s, ends: Int64s, pick: np.ufunc) -> Int64s:
    with np.errstate(invalid="ignore"):
        extreme = pick.reduceat(values, starts)  # fmin/fmax skip NaN unless all are NaN
    found = starts.copy()
    real = ~np.isnan(extreme)
    if real.any():
        hits = np.flatnonzero(values == np.repeat(extreme, ends - starts))
        found[real] = hits[np.searchsorted(hits, starts[real])]
    return found
