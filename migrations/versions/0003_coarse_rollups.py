"""Coarse metric rollups: each 4096-step bucket's min and max point, so a whole-run chart of a
long series reads a few hundred rows instead of ~16k fine rollups. Existing series get their
coarse rollups computed from the fine ones.

Revision ID: 0003_coarse_rollups
Revises: 0002_telemetry
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_coarse_rollups"
down_revision: str | None = "0002_telemetry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_coarse_rollups",
        sa.Column("series_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("min_step", sa.BigInteger(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("min_epoch", sa.Integer(), nullable=True),
        sa.Column("min_wall_time", sa.Float(), nullable=False),
        sa.Column("max_step", sa.BigInteger(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("max_epoch", sa.Integer(), nullable=True),
        sa.Column("max_wall_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "bucket", name=op.f("pk_metric_coarse_rollups")),
    )
    # Backfill from the fine rollups, with the same code the ingester uses afterwards.
    from server.metrics.rollups import backfill_coarse_rollups

    backfill_coarse_rollups(op.get_bind())


def downgrade() -> None:
    op.drop_table("metric_coarse_rollups")
