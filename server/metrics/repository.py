"""Queries of metric series. Points live in blocks (server/metrics/blocks.py); a long range is
read through the rollups (server/metrics/candidates.py), a short one from the blocks."""

from collections.abc import Iterator, Sequence

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from server.metrics.blocks import decode_block
from server.metrics.columns import PointColumns
from server.metrics.downsample import Point
from server.metrics.models import (
    MetricBlock,
    MetricCoarseRollup,
    MetricRollup,
    MetricSeries,
)

RAW_SPAN_LIMIT = 50_000
"""Ranges spanning at most this many steps are downsampled from the points themselves."""

MAX_STEP = 2**62


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


def series_of_run(session: Session, run_id: str) -> list[MetricSeries]:
    """Every series of the run with its summary, sorted by key."""
    return list(
        session.scalars(
            select(MetricSeries).where(MetricSeries.run_id == run_id).order_by(MetricSeries.key)
        )
    )


def one_series(session: Session, run_id: str, key: str) -> MetricSeries | None:
    return session.scalar(
        select(MetricSeries).where(MetricSeries.run_id == run_id, MetricSeries.key == key)
    )


def _overlapping(sid: int, lo: int, hi: int) -> Select[int, bytes]:
    """Blocks of the series overlapping [lo, hi], in step order. The block holding `lo` is
    found by one backward probe of the primary key, not by scanning from the series' start."""
    b = MetricBlock
    before = (
        select(func.max(b.first_step))
        .where(b.series_id == sid, b.first_step <= lo)
        .scalar_subquery()
    )
    return (
        select(b.first_step, b.data)
        .where(
            b.series_id == sid,
            b.first_step >= func.coalesce(before, lo),
            b.first_step <= hi,
            b.last_step >= lo,
        )
        .order_by(b.first_step)
    )


def range_points(session: Session, sid: int, lo: int, hi: int) -> PointColumns:
    """Stored points with lo <= step <= hi, in step order."""
    rows = session.execute(_overlapping(sid, lo, hi))
    parts = [decode_block(row.data, row.first_step) for row in rows]
    return PointColumns.concat(parts).between(lo, hi)


def whole_series_points(session: Session, sids: Sequence[int]) -> dict[int, PointColumns]:
    """Every point of each series (for short series read together)."""
    found: dict[int, list[PointColumns]] = {sid: [] for sid in sids}
    b = MetricBlock
    for begin in range(0, len(sids), 500):
        rows = session.execute(
            select(b.series_id, b.first_step, b.data)
            .where(b.series_id.in_(sids[begin : begin + 500]))
            .order_by(b.series_id, b.first_step)
        )
        for sid, first, data in rows:
            found[sid].append(decode_block(data, first))
    return {sid: PointColumns.concat(parts) for sid, parts in found.items()}


def iter_blocks(session: Session, sid: int, page: int = 64) -> Iterator[PointColumns]:
    """Every block of the series in step order, a page of rows per query (full exports)."""
    b = MetricBlock
    after = -1
    while True:
        rows = session.execute(
            select(b.first_step, b.data)
            .where(b.series_id == sid, b.first_step > after)
            .order_by(b.first_step)
            .limit(page)
        ).all()
        for first, data in rows:
            yield decode_block(data, first)
        if len(rows) < page:
            return
        after = rows[-1].first_step


def to_points(columns: PointColumns) -> list[Point]:
    return [
        Point(step, value, None if epoch < 0 else epoch, wall)
        for step, value, epoch, wall in zip(
            columns.step.tolist(),
            columns.value.tolist(),
            columns.epoch.tolist(),
            columns.wall_time.tolist(),
            strict=True,
        )
    ]


def range_edges(session: Session, sid: int, lo: int, hi: int) -> tuple[int, int] | None:
    """The first and last stored step in [lo, hi]."""
    query = _overlapping(sid, lo, hi)
    first_block = session.execute(query.limit(1)).first()
    if first_block is None:
        return None
    head = decode_block(first_block.data, first_block.first_step).between(lo, hi)
    if not len(head):
        return None  # the range falls in a gap inside one block
    last_block = session.execute(
        query.order_by(None).order_by(MetricBlock.first_step.desc()).limit(1)
    ).one()
    tail = decode_block(last_block.data, last_block.first_step).between(lo, hi)
    return int(head.step[0]), int(tail.step[-1])


def delete_run_metrics(session: Session, run_id: str) -> None:
    """Deletes a run's blocks, rollups (both tiers) and series (blocks and rollups carry no
    foreign key to cascade)."""
    ids = select(MetricSeries.id).where(MetricSeries.run_id == run_id).scalar_subquery()
    session.execute(delete(MetricBlock).where(MetricBlock.series_id.in_(ids)))
    session.execute(delete(MetricRollup).where(MetricRollup.series_id.in_(ids)))
    session.execute(delete(MetricCoarseRollup).where(MetricCoarseRollup.series_id.in_(ids)))
    session.execute(delete(MetricSeries).where(MetricSeries.run_id == run_id))
