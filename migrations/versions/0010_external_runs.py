"""Runs logged from outside the cluster: a run's kind (scheduled, or external: logged by
runyard.init, the trainer logger or the MLflow-compatible API, never scheduled), and the
batches stored for external runs, so a resent batch is stored once.

Revision ID: 0010_external_runs
Revises: 0008_run_params
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_external_runs"
down_revision: str | None = "0008_run_params"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="scheduled")
        )
        batch.create_index(op.f("ix_runs_kind"), ["kind"], unique=False)
    op.create_table(
        "external_batches",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_external_batches_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_external_batches")),
    )


def downgrade() -> None:
    op.drop_table("external_batches")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_kind")
        batch.drop_column("kind")
