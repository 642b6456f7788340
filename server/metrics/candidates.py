"""The points of a step range that can survive min/max downsampling, read through the rollup
tiers, for one series or many at once.

Which rows a range needs depends only on its first and last step and the tiers' widths, never
on the data: each whole bucket of the chosen tier gives its min and max, the partial buckets
at both edges come from the next finer tier (down to the points themselves), and the range's
last point is always read. So the reads are planned first (`_plan`) and then run one
statement per tier for every series of a request, instead of several statements per series:
a page of ten long charts costs four statements, not fifty.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from server.metrics.blocks import decode_block
from server.metrics.columns import PointColumns
from server.metrics.downsample import Point
from server.metrics.models import (
    COARSE_ROLLUP_WIDTH,
    ROLLUP_WIDTH,
    MetricBlock,
    MetricCoarseRollup,
    MetricRollup,
)
from server.metrics.repository import MAX_STEP, RAW_SPAN_LIMIT, range_edges, to_points

ROW_BUDGET = 4000
"""A long range is read through the finest rollup tier that covers it in at most this many
bucket rows (or the coarsest tier, if none does)."""

RANGES_PER_STATEMENT = 200
"""Ranges OR-ed into one statement (a request for thousands of long series runs several)."""


@dataclass(frozen=True)
class Tier:
    model: type[MetricRollup] | type[MetricCoarseRollup]
    width: int


TIERS = (Tier(MetricCoarseRollup, COARSE_ROLLUP_WIDTH), Tier(MetricRollup, ROLLUP_WIDTH))
"""Rollup tiers, coarsest first; each tier's width is a multiple of the next one's."""
POINTS = len(TIERS)
"""The level below the finest tier: the stored points themselves."""


@dataclass(frozen=True)
class _Read:
    level: int
    """An index into TIERS (lo and hi are buckets of it), or POINTS (lo and hi are steps)."""
    lo: int
    hi: int


def candidate_points(
    session: Session,
    sid: int,
    start: int | None,
    end: int | None,
    buckets: int,
    *,
    known_edges: tuple[int, int] | None = None,
) -> list[Point]:
    """Points of the range that can survive min/max downsampling, sorted by step.

    Short ranges return every point. Long ones return each whole rollup bucket's min and max,
    from the finest tier that needs at most ROW_BUDGET rows for the range, the partial edges
    from finer tiers, and the range's last point. The global extremes and the last point are
    exact. `buckets` (the chart's) is part of the contract but every tier here already fits it.
    `known_edges`: the range's first and last stored step when the caller knows them (a whole
    series' are in its summary row), saving the two block reads that would find them.
    """
    lo = start if start is not None else 0
    hi = end if end is not None else MAX_STEP
    edges = known_edges if known_edges is not None else range_edges(session, sid, lo, hi)
    if edges is None:
        return []
    return candidates_of_many(session, {sid: edges})[sid]


def candidates_of_many(
    session: Session, edges: dict[int, tuple[int, int]]
) -> dict[int, list[Point]]:
    """`candidate_points` of several series at once, each given its range's first and last
    stored step: one statement per tier for all of them."""
    plans = {sid: _plan_range(first, last) for sid, (first, last) in edges.items()}
    found: dict[int, dict[int, Point]] = {sid: {} for sid in edges}
    for level in range(POINTS):
        wanted = [
            (sid, r.lo, r.hi) for sid, plan in plans.items() for r in plan if r.level == level
        ]
        for sid, point in _rollup_extremes(session, TIERS[level].model, wanted):
            found[sid][point.step] = point
    # The points come last: a range's last point is always read from them, and wins.
    wanted = [(sid, r.lo, r.hi) for sid, plan in plans.items() for r in plan if r.level == POINTS]
    for sid, points in _points_of_ranges(session, wanted):
        for point in to_points(points):
            found[sid][point.step] = point
    return {sid: [points[step] for step in sorted(points)] for sid, points in found.items()}


def _plan_range(first: int, last: int) -> list[_Read]:
    if last - first < RAW_SPAN_LIMIT:
        return [_Read(POINTS, first, last)]
    span = last - first + 1
    tier = next(
        (i for i in range(len(TIERS) - 1, -1, -1) if span // TIERS[i].width <= ROW_BUDGET), 0
    )
    return [*_plan(first, last, tier), _Read(POINTS, last, last)]


def _plan(first: int, last: int, level: int) -> list[_Read]:
    """The reads giving the min and max of every whole bucket of TIERS[level] in
    [first, last], the partial edges from the next finer level."""
    if level == POINTS:
        return [_Read(POINTS, first, last)]
    width = TIERS[level].width
    whole_lo = -(-first // width)
    whole_hi = (last + 1) // width - 1
    if whole_lo > whole_hi:
        return _plan(first, last, level + 1)
    reads = [_Read(level, whole_lo, whole_hi)]
    if first < whole_lo * width:
        reads += _plan(first, whole_lo * width - 1, level + 1)
    if (whole_hi + 1) * width <= last:
        reads += _plan((whole_hi + 1) * width, last, level + 1)
    return reads


def _chunks(ranges: list[tuple[int, int, int]]) -> Iterable[list[tuple[int, int, int]]]:
    for begin in range(0, len(ranges), RANGES_PER_STATEMENT):
        yield ranges[begin : begin + RANGES_PER_STATEMENT]


def _rollup_extremes(
    session: Session,
    model: type[MetricRollup] | type[MetricCoarseRollup],
    ranges: list[tuple[int, int, int]],
) -> Iterable[tuple[int, Point]]:
    """(series id, point) of the min and max of each bucket in the (series, lo, hi) ranges."""
    r = model
    nan = float("nan")
    for chunk in _chunks(ranges):
        rows = session.execute(
            select(
                r.series_id,
                r.min_step,
                r.min_value,
                r.min_epoch,
                r.min_wall_time,
                r.max_step,
                r.max_value,
                r.max_epoch,
                r.max_wall_time,
            ).where(
                or_(
                    *(and_(r.series_id == s, r.bucket >= lo, r.bucket <= hi) for s, lo, hi in chunk)
                )
            )
        )
        for sid, min_step, min_v, min_e, min_w, max_step, max_v, max_e, max_w in rows:
            # NULL is NaN (SQLite stores no NaN).
            yield sid, Point(min_step, nan if min_v is None else min_v, min_e, min_w)
            yield sid, Point(max_step, nan if max_v is None else max_v, max_e, max_w)


def _points_of_ranges(
    session: Session, ranges: list[tuple[int, int, int]]
) -> Iterable[tuple[int, PointColumns]]:
    """(series id, points) of each (series, lo, hi) range, from the blocks overlapping it."""
    b = MetricBlock
    for chunk in _chunks(ranges):
        conditions = []
        for sid, lo, hi in chunk:
            # The block holding `lo`: one backward probe of the primary key.
            holding_lo = (
                select(func.max(b.first_step))
                .where(b.series_id == sid, b.first_step <= lo)
                .scalar_subquery()
            )
            conditions.append(
                and_(
                    b.series_id == sid,
                    b.first_step >= func.coalesce(holding_lo, lo),
                    b.first_step <= hi,
                    b.last_step >= lo,
                )
            )
        rows = session.execute(
            select(b.series_id, b.first_step, b.data)
            .where(or_(*conditions))
            .order_by(b.series_id, b.first_step)
        )
        blocks: dict[int, list[PointColumns]] = {}
        for sid, first_step, data in rows:
            blocks.setdefault(sid, []).append(decode_block(data, first_step))
        for sid, lo, hi in chunk:
            yield sid, PointColumns.concat(blocks.get(sid, [])).between(lo, hi)
