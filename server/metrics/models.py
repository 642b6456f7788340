"""Metric series, their points in blocks, and the rollup tiers. Series have integer keys:
every block and rollup row carries one."""

from sqlalchemy import (
    DDL,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# SQLite gives autoincrement only to INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")

ROLLUP_WIDTH = 64
"""Steps per rollup bucket: a zoomed-in range of up to a few hundred thousand steps reads a
few thousand of these rows."""

COARSE_ROLLUP_WIDTH = 4096
"""Steps per coarse rollup bucket, a whole number of ROLLUP_WIDTH buckets (64 of them), so
each coarse bucket is kept from the fine rollups under it. A full 1,000,000-step series has
~250 coarse rows (against ~15,600 fine ones), which is what a whole-run chart reads."""


class MetricSeries(Base):
    """One metric key of a run, with its summary kept by the ingester in the same transaction
    as the points: how many points, the first and last step, the last value and the min and
    max point (ties to the earlier step, NaN never an extreme unless there is nothing else).
    The summary columns are NULL until the first point; NULL values read as NaN (SQLite has
    no NaN)."""

    __tablename__ = "metric_series"
    __table_args__ = (
        UniqueConstraint("run_id", "key"),
        # The runs list sorts and filters by one key's summary across many runs. Neither
        # column ever changes, so the ingester's summary updates stay heap-only (HOT).
        Index("ix_metric_series_key_run", "key", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_step: Mapped[int | None] = mapped_column(BigInteger)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    last_value: Mapped[float | None] = mapped_column(Float)
    min_step: Mapped[int | None] = mapped_column(BigInteger)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_step: Mapped[int | None] = mapped_column(BigInteger)
    max_value: Mapped[float | None] = mapped_column(Float)


class MetricBlock(Base):
    """Up to BLOCK_POINTS consecutive points of one series (server/metrics/blocks.py has the
    format), covering first_step..last_step. A series' blocks never overlap. (last_attempt,
    last_seq) is the greatest (attempt, seq) of the events that wrote its points: live views
    find what is new since their cursor through it."""

    __tablename__ = "metric_blocks"
    __table_args__ = (
        Index("ix_metric_blocks_series_attempt_seq", "series_id", "last_attempt", "last_seq"),
    )

    # No foreign key, like the rollups: only the ingester writes here, with ids it has just
    # read from metric_series; deleting a run calls `repository.delete_run_metrics` first.
    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_step: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_step: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(Integer)
    last_attempt: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# The ingester compresses blocks itself, so PostgreSQL should neither try again nor move them
# out of the row: a block (2-4 KB) stays inline, and one heap fetch reads it.
BLOCK_STORAGE_DDL = (
    "ALTER TABLE metric_blocks SET (toast_tuple_target = 8160)",
    "ALTER TABLE metric_blocks ALTER COLUMN data SET STORAGE EXTERNAL",
)
for _statement in BLOCK_STORAGE_DDL:
    event.listen(
        MetricBlock.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )


class _RollupColumns:
    """The columns of a rollup tier: the min and the max point of each bucket of a series, and
    the bucket's last step (the range's last point itself is read from the points)."""

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_step: Mapped[int] = mapped_column(BigInteger)
    min_step: Mapped[int] = mapped_column(BigInteger)
    min_value: Mapped[float | None] = mapped_column(Float)
    min_epoch: Mapped[int | None] = mapped_column(Integer)
    min_wall_time: Mapped[float] = mapped_column(Float)
    max_step: Mapped[int] = mapped_column(BigInteger)
    max_value: Mapped[float | None] = mapped_column(Float)
    max_epoch: Mapped[int | None] = mapped_column(Integer)
    max_wall_time: Mapped[float] = mapped_column(Float)
    # NULL values are NaN (see MetricSeries).


class MetricRollup(_RollupColumns, Base):
    """Min and max point of each ROLLUP_WIDTH-step bucket of a series, kept by the ingester,
    so a downsampled query of a long series reads buckets instead of every point."""

    __tablename__ = "metric_rollups"


class MetricCoarseRollup(_RollupColumns, Base):
    """The same per COARSE_ROLLUP_WIDTH-step bucket, kept by the ingester from the fine
    rollups, so a whole-run chart of a million-point series reads a few hundred rows."""

    __tablename__ = "metric_coarse_rollups"
