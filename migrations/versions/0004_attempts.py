"""Attempts with fencing numbers and their nodes' slot holdings in SQL (previously only in
Redis), the server's presence, the scheduler lease, per-attempt run tokens, and workers'
incarnation and isolation. Runs that are scheduled or running get their current attempt
recorded from what the runs table knows (rank 0's worker and devices).

Revision ID: 0004_attempts
Revises: 0003_coarse_rollups
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_attempts"
down_revision: str | None = "0003_coarse_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_attempts",
        sa.Column("fence", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_attempts_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("fence", name=op.f("pk_run_attempts")),
        sa.UniqueConstraint("run_id", "attempt", name=op.f("uq_run_attempts_run_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_run_attempts_run_id"), "run_attempts", ["run_id"], unique=False)
    op.create_index(op.f("ix_run_attempts_ended_at"), "run_attempts", ["ended_at"], unique=False)
    op.create_table(
        "attempt_nodes",
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("node_rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("worker_name", sa.String(length=200), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_incarnation", sa.String(length=64), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["fence"],
            ["run_attempts.fence"],
            name=op.f("fk_attempt_nodes_fence_run_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fence", "node_rank", name=op.f("pk_attempt_nodes")),
    )
    op.create_index(
        "ix_attempt_nodes_holding", "attempt_nodes", ["worker_name", "released_at"], unique=False
    )
    op.create_table(
        "service_presence",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_presence")),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("fence", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_api_tokens_fence"), ["fence"], unique=False)
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("incarnation", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("isolation", sa.String(length=16), nullable=False, server_default="sandbox")
        )
    _record_active_attempts()


def _record_active_attempts() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    workers = dict(conn.execute(sa.text("SELECT id, name FROM workers")).all())
    active = conn.execute(
        sa.text(
            "SELECT id, attempt, worker_id, devices FROM runs "
            "WHERE state IN ('scheduled', 'running')"
        )
    ).all()
    attempts = sa.table(
        "run_attempts",
        sa.column("fence", sa.Integer),
        sa.column("run_id", sa.String),
        sa.column("attempt", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    nodes = sa.table(
        "attempt_nodes",
        sa.column("fence", sa.Integer),
        sa.column("node_rank", sa.Integer),
        sa.column("worker_name", sa.String),
        sa.column("slots", sa.JSON),
        sa.column("dispatched_at", sa.DateTime(timezone=True)),
        sa.column("seen_at", sa.DateTime(timezone=True)),
    )
    for run_id, attempt, worker_id, devices in active:
        fence = conn.execute(
            attempts.insert()
            .values(run_id=run_id, attempt=attempt, created_at=now)
            .returning(attempts.c.fence)
        ).scalar_one()
        if worker_id in workers:
            # A raw query hands SQLite's JSON back as text, PostgreSQL's already parsed.
            listed = json.loads(devices) if isinstance(devices, str) else devices
            conn.execute(
                nodes.insert().values(
                    fence=fence,
                    node_rank=0,
                    worker_name=workers[worker_id],
                    slots=[str(d) for d in (listed or [])],
                    dispatched_at=now,
                    seen_at=now,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("isolation")
        batch.drop_column("incarnation")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(op.f("ix_api_tokens_fence"))
        batch.drop_column("fence")
    op.drop_table("scheduler_leases")
    op.drop_table("service_presence")
    op.drop_index("ix_attempt_nodes_holding", table_name="attempt_nodes")
    op.drop_table("attempt_nodes")
    op.drop_index(op.f("ix_run_attempts_ended_at"), table_name="run_attempts")
    op.drop_index(op.f("ix_run_attempts_run_id"), table_name="run_attempts")
    op.drop_table("run_attempts")
