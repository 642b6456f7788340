"""Min/max downsampling of a metric series, as a pure function.

A chart of a million points on a screen a thousand pixels wide needs only each pixel column's
extremes to look the same: spikes stay visible, which a plain average or stride would hide.
So the x range is cut into equal-width step buckets, each bucket keeps its minimum and its
maximum point, and the very last point is always kept (it is the value people look for).
The SQL fast path in `repository.py` computes the same buckets, so both paths agree.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_POINTS = 3
"""The fewest points a caller may ask for: a min, a max and the last point."""


@dataclass(frozen=True, slots=True)
class Point:
    step: int
    value: float
    """NaN, +inf and -inf as they were logged."""
    epoch: int | None = None
    wall_time: float | None = None


def bucket_count(max_points: int) -> int:
    """Buckets for `max_points`: two points per bucket, plus one slot kept for the last point."""
    return (max_points - 1) // 2


def bucket_of(step: int, first: int, last: int, buckets: int) -> int:
    """The bucket of `step` when [first, last] is cut into `buckets` equal-width buckets."""
    return (step - first) * buckets // (last - first + 1)


def downsample(points: Sequence[Point], max_points: int) -> list[Point]:
    """At most `max_points` of `points` (sorted by step, one point per step), sorted by step.

    Keeps every point when there are few enough; otherwise each bucket's min and max (by
    value; NaN only stands in for a bucket that has nothing else) and the last point.
    The global min, the global max and the last point are therefore always present.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    if len(points) <= max_points:
        return list(points)
    *body, last = points
    buckets = bucket_count(max_points)
    first_step, last_step = body[0].step, body[-1].step
    lows: dict[int, Point] = {}
    highs: dict[int, Point] = {}
    for point in body:
        b = bucket_of(point.step, first_step, last_step, buckets)
        low = lows.get(b)
        if low is None or replaces(point, low, lower=True):
            lows[b] = point
        high = highs.get(b)
        if high is None or replaces(point, high, lower=False):
            highs[b] = point
    kept = {p.step: p for p in (*lows.values(), *highs.values())}
    kept[last.step] = last
    return [kept[step] for step in sorted(kept)]


def replaces(candidate: Point, current: Point, *, lower: bool) -> bool:
    """Whether `candidate` is a strictly better extreme than `current`. Any value beats NaN
    (infinities are ordinary extremes); NaN never beats anything; ties keep the earlier step."""
    if math.isnan(candidate.value):
        return False
    if math.isnan(current.value):
        return True
    return candidate.value < current.value if lower else candidate.value > current.value
