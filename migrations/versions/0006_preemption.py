"""Preemption: a run counts its restarts (requeues after losing its worker, which
max_restarts limits) apart from its attempts (preemptions add attempts, not restarts), and
records when and why the scheduler asked its current attempt to checkpoint and stop.

Revision ID: 0006_preemption
Revises: 0005_metric_blocks
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_preemption"
down_revision: str | None = "0005_metric_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("restarts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("preempt_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("preempt_reason", sa.String(length=500), nullable=True))
    # Until now every further attempt was a restart.
    op.execute("UPDATE runs SET restarts = attempt - 1")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("preempt_reason")
        batch.drop_column("preempt_requested_at")
        batch.drop_column("restarts")
