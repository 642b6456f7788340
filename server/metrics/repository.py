"""Queries of metric series. A long range is read through the rollups, a short one directly."""

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from server.metrics.downsample import Point
from server.metrics.models import ROLLUP_WIDTH, MetricPointRow, MetricRollup, MetricSeries

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


def candidate_points(
    session: Session, sid: int, start: int | None, end: int | None, buckets: int
) -> list[Point]:
    """Points of the range that can survive min/max downsampling, sorted by step.

    Short ranges return every point. Long ones return each whole rollup bucket's min and max,
    every point of the partial buckets at both edges, and the range's last point, so the global
    extremes and the last point are exact while only ~2/ROLLUP_WIDTH of the rows are read.
    """
    lo = start if start is not None else 0
    hi = end if end is not None else 2**62
    first = _edge_step(session, sid, lo, hi, last=False)
    last = _edge_step(session, sid, lo, hi, last=True)
    if first is None or last is None:
        return []
    if last - first < RAW_SPAN_LIMIT:
        return _points(session, sid, first, last)
    whole_lo = -(-first // ROLLUP_WIDTH)
    whole_hi = (last + 1) // ROLLUP_WIDTH - 1
    if session.get_bind().dialect.name == "postgresql":
        steps = _bucket_extremes_in_sql(session, sid, whole_lo, whole_hi, first, last, buckets)
        found = {p.step: p for p in _points_at(session, sid, steps)}
    else:
        found = _rollup_extremes(session, sid, whole_lo, whole_hi)
    edges = _points(session, sid, first, whole_lo * ROLLUP_WIDTH - 1)
    edges += _points(session, sid, (whole_hi + 1) * ROLLUP_WIDTH, last)
    edges += _points(session, sid, last, last)
    for point in edges:
        found[point.step] = point
    return [found[step] for step in sorted(found)]


def _rollup_extremes(session: Session, sid: int, lo: int, hi: int) -> dict[int, Point]:
    r = MetricRollup
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
    ).tuples()
    found: dict[int, Point] = {}
    for min_step, min_v, min_e, min_w, max_step, max_v, max_e, max_w in rollups:
        found[min_step] = Point(min_step, min_v, min_e, min_w)
        found[max_step] = Point(max_step, max_v, max_e, max_w)
    return found


# Regroups the rollups into the chart's buckets inside PostgreSQL, so only ~2 rows per chart
# bucket travel to Python. min/max over (value, step) arrays is an argmin/argmax.
_PG_BUCKET_EXTREMES = text(
    "SELECT (min(ARRAY[min_value, min_step::float8]) FILTER (WHERE min_value IS NOT NULL))[2],"
    " (max(ARRAY[max_value, max_step::float8]) FILTER (WHERE max_value IS NOT NULL))[2],"
    " min(min_step) FROM metric_rollups"
    " WHERE series_id = :sid AND bucket BETWEEN :lo AND :hi"
    " GROUP BY (bucket * :width - :first) * :buckets / (:last - :first + 1)"
)


def _bucket_extremes_in_sql(
    session: Session, sid: int, lo: int, hi: int, first: int, last: int, buckets: int
) -> set[int]:
    rows = session.execute(
        _PG_BUCKET_EXTREMES,
        {
            "sid": sid,
            "lo": lo,
            "hi": hi,
            "width": ROLLUP_WIDTH,
            "first": first,
            "last": last,
            "buckets": buckets,
        },
    )
    steps: set[int] = set()
    for low, high, any_step in rows:
        # A bucket of only missing values still shows up, through any one of its steps.
        steps.update(int(s) for s in (low, high) if s is not None)
        if low is None and high is None:
            steps.add(int(any_step))
    return steps


def _points_at(session: Session, sid: int, steps: set[int]) -> list[Point]:
    if not steps:
        return []
    # One array parameter rather than thousands of bound values (which cost more to render
    # than the query takes to run).
    rows = session.execute(
        text(
            "SELECT step, value, epoch, wall_time FROM metric_points"
            " WHERE series_id = :sid AND step = ANY(CAST(:steps AS bigint[]))"
        ),
        {"sid": sid, "steps": "{" + ",".join(map(str, sorted(steps))) + "}"},
    )
    return [Point(r.step, r.value, r.epoch, r.wall_time) for r in rows]


def delete_run_metrics(session: Session, run_id: str) -> None:
    """Deletes a run's points, rollups and series (points carry no foreign key to cascade)."""
    ids = select(MetricSeries.id).where(MetricSeries.run_id == run_id).scalar_subquery()
    session.execute(delete(MetricPointRow).where(MetricPointRow.series_id.in_(ids)))
    session.execute(delete(MetricRollup).where(MetricRollup.series_id.in_(ids)))
    session.execute(delete(MetricSeries).where(MetricSeries.run_id == run_id))
