"""ASHA search: a trial's rung (the one it trains for, waits at or ended at) and its metric
at the end of each rung it reached.

Revision ID: 0007_asha
Revises: 0006_preemption
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_asha"
down_revision: str | None = "0006_preemption"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("rung", sa.Integer(), nullable=True))
    op.create_table(
        "rung_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_rung_results_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_rung_results_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rung_results")),
        sa.UniqueConstraint("run_id", "rung", name=op.f("uq_rung_results_run_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_rung_results_experiment_id"), "rung_results", ["experiment_id"], unique=False
    )
    op.create_index(op.f("ix_rung_results_run_id"), "rung_results", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rung_results_run_id"), table_name="rung_results")
    op.drop_index(op.f("ix_rung_results_experiment_id"), table_name="rung_results")
    op.drop_table("rung_results")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("rung")
