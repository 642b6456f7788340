"""Queries of metric series. A long range is read through the rollups (the coarse tier for a
whole long run, the fine one for a zoomed range), a short one directly."""

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.metrics.downsample import Point
from server.metrics.models import (
    COARSE_ROLLUP_WIDTH,
    ROLLUP_WIDTH,
    MetricCoarseRollup,
    MetricPointRow,
    MetricRollup,
    MetricSeries,
)

RAW_SPAN_LIMIT = 50_000
"""Ranges spanning at most this many steps are downsampled from the points themselves."""


def series_keys(session: Session, run_id: str) -> list[str]:
    return list(
        session.scalars(
            select(MetricSeries.key).where(MetricSeries.run_id == run_id).order_by(MetricSeries.key)
        )
    )


def series_id(session: Session, run_id: str, key: str) -> int | None:
    return session.scalar(
        select(MetricSeries.id).where(MetricSeries.run_id == run_id, MetricSeries.key == key)
    )


def _points(session: Session, sid: int, lo: int, hi: int) -> list[Point]:
    """Stored points with lo <= step <= hi, in step order."""
    p = MetricPointRow
    rows = session.execute(
        select(p.step, p.value, p.epoch, p.wall_time)
        .where(p.series_id == sid, p.step >= lo, p.step <= hi)
        .order_by(p.step)
    )
    return [Point(r.step, r.value, r.epoch, r.wall_time) for r in rows]


def _edge_step(session: Session, sid: int, lo: int, hi: int, *, last: bool) -> int | None:
    p = MetricPointRow
    order = p.step.desc() if last else p.step.asc()
    return session.scalar(
        select(p.step)
        .where(p.series_id == sid, p.step >= lo, p.step <= hi)
        .order_by(order)
        .limit(1)
    )


ROW_BUDGET = 4000
"""A long range is read through the finest rollup tier that covers it in at most this many
bucket rows (or the coarsest tier, if none does)."""


@dataclass(frozen=True)
class Tier:
    model: type[MetricRollup] | type[MetricCoarseRollup]
    width: int


TIERS = (Tier(MetricCoarseRollup, COARSE_ROLLUP_WIDTH), Tier(MetricRollup, ROLLUP_WIDTH))
"""Rollup tiers, coarsest first; each tier's width is a multiple of the next one's."""


def candidate_points(
    session: Session, sid: int, start: int | None, end: int | None, buckets: int
) -> list[Point]:
    """Points of the range that can survive min/max downsampling, sorted by step.

    Short ranges return every point. Long ones return each whole rollup bucket's min and max,
    from the finest tier that needs at most ROW_BUDGET rows for the range; the partial buckets
    at both edges come from the next finer tier (down to the points themselves), and the
    range's last point is always there. The global extremes and the last point are exact.
    `buckets` (the chart's) is part of the contract but every tier here already fits it.
    """
    lo = start if start is not None else 0
    hi = end if end is not None else 2**62
    first = _edge_step(session, sid, lo, hi, last=False)
    last = _edge_step(session, sid, lo, hi, last=True)
    if first is None or last is None:
        return []
    if last - first < RAW_SPAN_LIMIT:
        return _points(session, sid, first, last)
    span = last - first + 1
    tier = next(
        (i for i in range(len(TIERS) - 1, -1, -1) if span // TIERS[i].width <= ROW_BUDGET), 0
    )
    found = _tiered_extremes(session, sid, first, last, tier)
    for point in _points(session, sid, last, last):
        found[point.step] = point
    return [found[step] for step in sorted(found)]


def _tiered_extremes(
    session: Session, sid: int, first: int, last: int, tier: int
) -> dict[int, Point]:
    """Min and max of every whole bucket of TIERS[tier] in [first, last]; the partial edges
    recurse into the next finer tier, and below the finest tier into the points."""
    if tier == len(TIERS):
        return {p.step: p for p in _points(session, sid, first, last)}
    width = TIERS[tier].width
    whole_lo = -(-first // width)
    whole_hi = (last + 1) // width - 1
    if whole_lo > whole_hi:
        return _tiered_extremes(session, sid, first, last, tier + 1)
    found = _rollup_extremes(session, TIERS[tier].model, sid, whole_lo, whole_hi)
    if first < whole_lo * width:
        found |= _tiered_extremes(session, sid, first, whole_lo * width - 1, tier + 1)
    if (whole_hi + 1) * width <= last:
        found |= _tiered_extremes(session, sid, (whole_hi + 1) * width, last, tier + 1)
    return found


def _rollup_extremes(
    session: Session,
    model: type[MetricRollup] | type[MetricCoarseRollup],
    sid: int,
    lo: int,
    hi: int,
) -> dict[int, Point]:
    r = model
    rollups = session.execute(
        select(
            r.min_step,
            r.min_value,
            r.min_epoch,
            r.min_wall_time,
            r.max_step,
            r.max_value,
            r.max_epoch,
            r.max_wall_time,
        ).where(r.series_id == sid, r.bucket >= lo, r.bucket <= hi)
    )
    found: dict[int, Point] = {}
    for min_step, min_v, min_e, min_w, max_step, max_v, max_e, max_w in rollups:
        found[min_step] = Point(min_step, min_v, min_e, min_w)
        found[max_step] = Point(max_step, max_v, max_e, max_w)
    return found


def delete_run_metrics(session: Session, run_id: str) -> None:
    """Deletes a run's points, rollups (both tiers) and series (points carry no foreign key to cascade)."""
    ids = select(MetricSeries.id).where(MetricSeries.run_id == run_id).scalar_subquery()
    session.execute(delete(MetricPointRow).where(MetricPointRow.series_id.in_(ids)))
    session.execute(delete(MetricRollup).where(MetricRollup.series_id.in_(ids)))
    session.execute(delete(MetricCoarseRollup).where(MetricCoarseRollup.series_id.in_(ids)))
    session.execute(delete(MetricSeries).where(MetricSeries.run_id == run_id))
