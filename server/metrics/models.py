"""Metric series and points. Points are high-volume rows, so they have integer keys."""

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
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
    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))


class MetricPointRow(Base):
    """One step of a series. (attempt, seq) is the event that last wrote it: the newer attempt
    wins on a conflict, and live views follow new points by that pair."""

    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_series_attempt_seq", "series_id", "attempt", "seq"),)

    # No foreign key on purpose: checking one per inserted point halves PostgreSQL's insert
    # rate, and only the ingester writes here, always with an id it just read from
    # metric_series. Deleting a run must call `repository.delete_run_metrics` first.
    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    epoch: Mapped[int | None] = mapped_column(Integer)
    # NULL stands for NaN: SQLite cannot store NaN, so both backends store it the same way.
    value: Mapped[float | None] = mapped_column(Float)
    wall_time: Mapped[float] = mapped_column(Float)
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)


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


class MetricRollup(_RollupColumns, Base):
    """Min and max point of each ROLLUP_WIDTH-step bucket of a series, kept by the ingester,
    so a downsampled query of a long series reads buckets instead of every point."""

    __tablename__ = "metric_rollups"


class MetricCoarseRollup(_RollupColumns, Base):
    """The same per COARSE_ROLLUP_WIDTH-step bucket, kept by the ingester from the fine
    rollups, so a whole-run chart of a million-point series reads a few hundred rows."""

    __tablename__ = "metric_coarse_rollups"
