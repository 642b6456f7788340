"""Metric points in blocks: one row per series and run of up to 256 consecutive points
(server/metrics/blocks.py), replacing one row per point; series summaries (points, first and
last step, last value, min and max point) kept on metric_series; per-run ingest usage for the
run limits. Non-finite values are now kept as they are: the NULLs that stood for every
non-finite value become NaN.

Existing points are converted series by series, a page of points at a time (memory stays
flat whatever the series' length). The downgrade converts back, writing NULL for every
non-finite value and recomputing the rollups of series that had any, as the old model had them.

Revision ID: 0005_metric_blocks
Revises: 0004_attempts
Create Date: 2026-12-01
"""

import math
from collections.abc import Iterator, Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0005_metric_blocks"
down_revision: str | None = "0004_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE = 65_536


def upgrade() -> None:
    from server.metrics.models import BLOCK_STORAGE_DDL

    op.create_table(
        "metric_blocks",
        sa.Column("series_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_step", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("last_attempt", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "first_step", name=op.f("pk_metric_blocks")),
    )
    with op.batch_alter_table("metric_blocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_blocks_series_attempt_seq",
            ["series_id", "last_attempt", "last_seq"],
            unique=False,
        )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in BLOCK_STORAGE_DDL:
            op.execute(statement)
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points", sa.BigInteger(), server_default="0", nullable=False)
        )
        for name in ("first_step", "last_step", "min_step", "max_step"):
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        for name in ("last_value", "min_value", "max_value"):
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))
    op.create_table(
        "run_ingest_usage",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("log_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("log_lines_dropped", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("log_trims", sa.Integer(), server_default="0", nullable=False),
        sa.Column("metric_points_refused", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("events_refused", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_ingest_usage_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_ingest_usage")),
    )
    size = (
        "octet_length(text)" if bind.dialect.name == "postgresql" else "length(CAST(text AS BLOB))"
    )
    op.execute(
        "INSERT INTO run_ingest_usage (run_id, log_bytes) "
        f"SELECT run_id, SUM({size}) FROM log_lines GROUP BY run_id"
    )
    if bind.dialect.name == "postgresql":  # SQLite has no NaN: its NULL already reads as NaN
        for table in ("metric_rollups", "metric_coarse_rollups"):
            for side in ("min", "max"):
                op.execute(f"UPDATE {table} SET {side}_value = 'NaN' WHERE {side}_value IS NULL")
    for (sid,) in bind.execute(sa.text("SELECT DISTINCT series_id FROM metric_points")):
        _points_to_blocks(bind, int(sid))
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_points_series_attempt_seq")
    op.drop_table("metric_points")


def _point_pages(bind: sa.Connection, sid: int) -> Iterator["PointColumns"]:  # noqa: F821
    from server.metrics.columns import NO_EPOCH, PointColumns

    after = -1
    select = sa.text(
        "SELECT step, value, epoch, wall_time, attempt, seq FROM metric_points"
        " WHERE series_id = :sid AND step > :after ORDER BY step LIMIT :page"
    )
    while True:
        rows = bind.execute(select, {"sid": sid, "after": after, "page": PAGE}).all()
        if not rows:
            return
        yield PointColumns(
            step=np.array([r.step for r in rows], dtype=np.int64),
            value=np.array([math.nan if r.value is None else r.value for r in rows]),
            epoch=np.array([NO_EPOCH if r.epoch is None else r.epoch for r in rows], np.int64),
            wall_time=np.array([r.wall_time for r in rows], dtype=np.float64),
            attempt=np.array([r.attempt for r in rows], dtype=np.int64),
            seq=np.array([r.seq for r in rows], dtype=np.int64),
        )
        after = rows[-1].step


def _points_to_blocks(bind: sa.Connection, sid: int) -> None:
    from server.metrics.blocks import BLOCK_POINTS, encode_block
    from server.metrics.columns import PointColumns
    from server.metrics.rollups import WHOLE_SERIES, coarser, point_rollups

    insert = sa.text(
        "INSERT INTO metric_blocks (series_id, first_step, last_step, points, last_attempt,"
        " last_seq, data) VALUES (:series_id, :first_step, :last_step, :points,"
        " :last_attempt, :last_seq, :data)"
    )
    carry = PointColumns.empty()
    summary = None
    count, first_step = 0, None
    last: tuple[int, float] | None = None
    for page in _point_pages(bind, sid):
        count += len(page)
        first_step = int(page.step[0]) if first_step is None else first_step
        last = (int(page.step[-1]), float(page.value[-1]))
        whole = point_rollups(page, WHOLE_SERIES)
        summary = whole if summary is None else coarser(_stack(summary, whole), WHOLE_SERIES)
        pending = PointColumns.concat([carry, page])
        full = len(pending) // BLOCK_POINTS * BLOCK_POINTS
        _insert_blocks(bind, insert, sid, pending.take(slice(0, full)), encode_block)
        carry = pending.take(slice(full, len(pending)))
    _insert_blocks(bind, insert, sid, carry, encode_block)
    if summary is None or last is None:
        return
    bind.execute(
        sa.text(
            "UPDATE metric_series SET points = :points, first_step = :first_step,"
            " last_step = :last_step, last_value = :last_value, min_step = :min_step,"
            " min_value = :min_value, max_step = :max_step, max_value = :max_value"
            " WHERE id = :id"
        ),
        {
            "id": sid,
            "points": count,
            "first_step": first_step,
            "last_step": last[0],
            "last_value": last[1],
            "min_step": int(summary.min_step[0]),
            "min_value": float(summary.min_value[0]),
            "max_step": int(summary.max_step[0]),
            "max_value": float(summary.max_value[0]),
        },
    )


def _stack(a, b):  # type: ignore[no-untyped-def]
    from server.metrics.rollups import Rollups

    fields = Rollups.__dataclass_fields__
    return Rollups(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in fields))


def _insert_blocks(bind, insert, sid, points, encode_block) -> None:  # type: ignore[no-untyped-def]
    from server.metrics.blocks import BLOCK_POINTS
    from server.metrics.columns import block_slices

    rows = []
    for part in block_slices(len(points), BLOCK_POINTS):
        chunk = points.take(part)
        newest = np.lexsort((chunk.seq, chunk.attempt))[-1]
        rows.append(
            {
                "series_id": sid,
                "first_step": int(chunk.step[0]),
                "last_step": int(chunk.step[-1]),
                "points": len(chunk),
                "last_attempt": int(chunk.attempt[newest]),
                "last_seq": int(chunk.seq[newest]),
                "data": encode_block(chunk),
            }
        )
    if rows:
        bind.execute(insert, rows)


def downgrade() -> None:
    op.create_table(
        "metric_points",
        sa.Column("series_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "step", name=op.f("pk_metric_points")),
    )
    with op.batch_alter_table("metric_points", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_points_series_attempt_seq", ["series_id", "attempt", "seq"], unique=False
        )
    bind = op.get_bind()
    for (sid,) in bind.execute(sa.text("SELECT DISTINCT series_id FROM metric_blocks")):
        _blocks_to_points(bind, int(sid))
    for table in ("metric_rollups", "metric_coarse_rollups"):
        for side in ("min", "max"):
            op.execute(f"UPDATE {table} SET {side}_value = NULL WHERE {side}_value = 'NaN'")
    op.drop_table("run_ingest_usage")
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        for name in (
            "max_value",
            "min_value",
            "last_value",
            "max_step",
            "min_step",
            "last_step",
            "first_step",
            "points",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("metric_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_blocks_series_attempt_seq")
    op.drop_table("metric_blocks")


def _blocks_to_points(bind: sa.Connection, sid: int) -> None:
    """Writes the series' points as rows, NULL for any non-finite value (the old model's only
    spelling), and when it had any, recomputes its rollups as the old model kept them: from
    the points with those values missing."""
    from server.metrics.blocks import decode_block
    from server.metrics.columns import PointColumns

    insert = sa.text(
        "INSERT INTO metric_points (series_id, step, epoch, value, wall_time, attempt, seq)"
        " VALUES (:series_id, :step, :epoch, :value, :wall_time, :attempt, :seq)"
    )
    select = sa.text(
        "SELECT first_step, data FROM metric_blocks WHERE series_id = :sid AND first_step > :after"
        " ORDER BY first_step LIMIT 256"
    )
    after, had_non_finite = -1, False
    while True:
        rows = bind.execute(select, {"sid": sid, "after": after}).all()
        if not rows:
            break
        points = PointColumns.concat([decode_block(r.data, r.first_step) for r in rows])
        finite = np.isfinite(points.value)
        had_non_finite |= not finite.all()
        values = [v if ok else None for v, ok in zip(points.value.tolist(), finite, strict=True)]
        bind.execute(
            insert,
            [
                {
                    "series_id": sid,
                    "step": step,
                    "epoch": None if epoch < 0 else epoch,
                    "value": value,
                    "wall_time": wall,
                    "attempt": attempt,
                    "seq": seq,
                }
                for step, epoch, value, wall, attempt, seq in zip(
                    points.step.tolist(),
                    points.epoch.tolist(),
                    values,
                    points.wall_time.tolist(),
                    points.attempt.tolist(),
                    points.seq.tolist(),
                    strict=True,
                )
            ],
        )
        after = rows[-1].first_step
    if had_non_finite:
        _recompute_rollups(bind, sid)


def _recompute_rollups(bind: sa.Connection, sid: int) -> None:
    from server.metrics.columns import NO_EPOCH, PointColumns
    from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH
    from server.metrics.rollups import UPSERT_COARSE, UPSERT_FINE, coarser, point_rollups

    rows = bind.execute(
        sa.text(
            "SELECT step, value, epoch, wall_time FROM metric_points WHERE series_id = :sid"
            " ORDER BY step"
        ),
        {"sid": sid},
    ).all()
    n = len(rows)
    points = PointColumns(
        step=np.array([r.step for r in rows], dtype=np.int64),
        value=np.array([math.nan if r.value is None else r.value for r in rows]),
        epoch=np.array([NO_EPOCH if r.epoch is None else r.epoch for r in rows], np.int64),
        wall_time=np.array([r.wall_time for r in rows], dtype=np.float64),
        attempt=np.zeros(n, np.int64),
        seq=np.zeros(n, np.int64),
    )
    fine = point_rollups(points, ROLLUP_WIDTH)
    bind.execute(UPSERT_FINE, fine.params(sid))
    bind.execute(UPSERT_COARSE, coarser(fine, COARSE_ROLLUP_WIDTH).params(sid))
