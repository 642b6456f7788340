"""Flat run params: every run's parameters (init args of the model and datamodule, trainer
settings, search values) under dotted keys, one row each, for filtering and sorting the runs
list; existing runs are backfilled from their stored spec. metric_series gets an index by
(key, run_id) for sorting and filtering by one metric across runs. Runs also get their own tags
(run_tags) and Markdown notes, both editable after submission.

The flattening is a frozen copy of server/runs/params.py as of this revision.

Revision ID: 0008_run_params
Revises: 0007_asha
Create Date: 2026-12-02
"""

import json
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_run_params"
down_revision: str | None = "0007_asha"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    op.create_table(
        "run_params",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_text", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "key"),
    )
    op.create_index("ix_run_params_key_num", "run_params", ["key", "value_num"])
    op.create_index("ix_run_params_key_text", "run_params", ["key", "value_text"])
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "tag"),
    )
    op.create_index("ix_run_tags_tag", "run_tags", ["tag"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_metric_series_key_run", "metric_series", ["key", "run_id"])
    _backfill()


def downgrade() -> None:
    op.drop_index("ix_metric_series_key_run", table_name="metric_series")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("notes")
    op.drop_index("ix_run_tags_tag", table_name="run_tags")
    op.drop_table("run_tags")
    op.drop_index("ix_run_params_key_text", table_name="run_params")
    op.drop_index("ix_run_params_key_num", table_name="run_params")
    op.drop_table("run_params")


def _backfill() -> None:
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("id", sa.String), sa.column("spec", sa.JSON),
                    sa.column("params", sa.JSON))
    params = sa.table(
        "run_params",
        sa.column("run_id", sa.String),
        sa.column("key", sa.String),
        sa.column("value", sa.JSON),
        sa.column("value_num", sa.Float),
        sa.column("value_text", sa.String),
    )
    pending: list[dict[str, Any]] = []
    for run_id, spec, searched in conn.execute(sa.select(runs.c.id, runs.c.spec, runs.c.params)):
        for key, value in _flat(spec or {}, searched or {}).items():
            number, text = _comparable(value)
            pending.append(
                {"run_id": run_id, "key": key, "value": value, "value_num": number,
                 "value_text": text}
            )
        if len(pending) >= _BATCH:
            conn.execute(params.insert(), pending)
            pending = []
    if pending:
        conn.execute(params.insert(), pending)


def _flat(spec: dict[str, Any], searched: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section in ("model", "datamodule"):
        part = spec.get(section)
        if isinstance(part, dict):
            if isinstance(part.get("entrypoint"), str):
                flat[f"{section}.class"] = part["entrypoint"]
            _flatten(flat, section, part.get("init_args") or {}, 1)
    trainer = spec.get("trainer")
    if isinstance(trainer, dict):
        _flatten(flat, "trainer", trainer, 1)
    for path, value in searched.items():
        key = path
        for section in ("model", "datamodule"):
            if path.startswith(f"{section}.init_args."):
                key = section + "." + path[len(f"{section}.init_args.") :]
        flat.setdefault(key, value)
    return {k: v for k, v in flat.items() if len(k) <= 300}


def _flatten(into: dict[str, Any], prefix: str, value: Any, depth: int) -> None:
    if isinstance(value, dict) and value and depth < 6:
        for key, child in value.items():
            _flatten(into, f"{prefix}.{key}", child, depth + 1)
    elif not (isinstance(value, dict) and not value):
        into[prefix] = value


def _comparable(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return float(value), "true" if value else "false"
    if isinstance(value, int | float):
        return (float(value) if math.isfinite(float(value)) else None), None
    if value is None:
        return None, None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None, text[:1000]
