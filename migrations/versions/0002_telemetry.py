"""Telemetry tables: metric series, points and rollups, log lines, checkpoints, exported
models, workers.

metric_points and metric_rollups carry no foreign key to metric_series on purpose (a check per
inserted point halves PostgreSQL's ingest rate); see server/metrics/models.py.

Revision ID: 0002_telemetry
Revises: 0001_core
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_telemetry'
down_revision: str | None = '0001_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('metric_points',
    sa.Column('series_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('step', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('wall_time', sa.Float(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'step', name=op.f('pk_metric_points'))
    )
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.create_index('ix_metric_points_series_attempt_seq', ['series_id', 'attempt', 'seq'], unique=False)

    op.create_table('metric_rollups',
    sa.Column('series_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('bucket', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=False),
    sa.Column('min_step', sa.BigInteger(), nullable=False),
    sa.Column('min_value', sa.Float(), nullable=True),
    sa.Column('min_epoch', sa.Integer(), nullable=True),
    sa.Column('min_wall_time', sa.Float(), nullable=False),
    sa.Column('max_step', sa.BigInteger(), nullable=False),
    sa.Column('max_value', sa.Float(), nullable=True),
    sa.Column('max_epoch', sa.Integer(), nullable=True),
    sa.Column('max_wall_time', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'bucket', name=op.f('pk_metric_rollups'))
    )
    op.create_table('workers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('queue', sa.String(length=200), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('slots_total', sa.Integer(), nullable=False),
    sa.Column('gpu_names', sa.JSON(), nullable=False),
    sa.Column('last_heartbeat', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers')),
    sa.UniqueConstraint('name', name=op.f('uq_workers_name'))
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workers_last_heartbeat'), ['last_heartbeat'], unique=False)

    op.create_table('checkpoints',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_path', sa.String(length=500), nullable=False),
    sa.Column('is_best', sa.Boolean(), nullable=False),
    sa.Column('is_last', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_checkpoints_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoints'))
    )
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoints_run_id'), ['run_id'], unique=False)

    op.create_table('exported_models',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('input_signature', sa.JSON(), nullable=False),
    sa.Column('storage_path', sa.String(length=500), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_exported_models_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exported_models'))
    )
    with op.batch_alter_table('exported_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exported_models_run_id'), ['run_id'], unique=False)

    op.create_table('log_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_log_lines_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_lines')),
    sa.UniqueConstraint('run_id', 'attempt', 'seq', 'line_no', name=op.f('uq_log_lines_run_id'))
    )
    with op.batch_alter_table('log_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_lines_run_id'), ['run_id'], unique=False)

    op.create_table('metric_series',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_metric_series_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_series')),
    sa.UniqueConstraint('run_id', 'key', name=op.f('uq_metric_series_run_id'))
    )
    with op.batch_alter_table('metric_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_series_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('metric_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_series_run_id'))

    op.drop_table('metric_series')
    with op.batch_alter_table('log_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_lines_run_id'))

    op.drop_table('log_lines')
    with op.batch_alter_table('exported_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exported_models_run_id'))

    op.drop_table('exported_models')
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoints_run_id'))

    op.drop_table('checkpoints')
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workers_last_heartbeat'))

    op.drop_table('workers')
    op.drop_table('metric_rollups')
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_points_series_attempt_seq')

    op.drop_table('metric_points')
