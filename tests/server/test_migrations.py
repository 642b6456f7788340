"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import server.models
from server.db import make_engine
from server.schema_migrations import alembic_config, upgrade_to_head
from tests.server.conftest import create_postgres_database, drop_postgres_database

CORE_TABLES = {
    "users",
    "api_tokens",
    "projects",
    "project_members",
    "experiments",
    "experiment_tags",
    "runs",
    "run_transitions",
}


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
        upgrade_to_head(url)
        yield url
    else:
        url = create_postgres_database()
        try:
            upgrade_to_head(url)
            yield url
        finally:
            drop_postgres_database(url)


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, server.models.metadata))
    finally:
        engine.dispose()


def _table_of(diff: object) -> str | None:
    first = diff[0] if isinstance(diff, list) else diff
    for item in first if isinstance(first, tuple) else ():
        name = getattr(item, "table", None)
        if name is not None and hasattr(name, "name"):
            return str(name.name)
        if hasattr(item, "name") and hasattr(item, "columns"):
            return str(item.name)
    return None


@pytest.mark.slow
def test_core_tables_match_the_models_after_upgrade(migrated_url: str) -> None:
    core_diffs = [d for d in _differences(migrated_url) if _table_of(d) in CORE_TABLES]
    assert core_diffs == []


@pytest.mark.slow
def test_all_models_match_the_migrations_after_upgrade(migrated_url: str) -> None:
    revisions = {
        r.revision
        for r in ScriptDirectory.from_config(alembic_config(migrated_url)).walk_revisions()
    }
    diffs = _differences(migrated_url)
    if diffs and "0002_telemetry" not in revisions:
        pytest.xfail("the telemetry tables' migration 0002_telemetry is not written yet")
    assert diffs == [], "models and migrations disagree; write a migration for:\n" + "\n".join(
        map(str, diffs)
    )


def _run_at_0003(url: str) -> str:
    """A run with a series of points in the pre-block layout (NULL for a non-finite value)."""
    from alembic import command
    from sqlalchemy import text

    command.upgrade(alembic_config(url), "0003_coarse_rollups")
    engine = make_engine(url)
    try:
        # Raw rows, not the models: the models describe the newest schema, this is 0003's.
        run_id = "run-m"
        with engine.begin() as conn:
            now = "2026-01-01 00:00:00"
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, is_admin, is_active, created_at) "
                    "VALUES ('user-m', 'm@example.test', 'm', true, true, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, description, created_by, created_at) "
                    "VALUES ('project-m', 'm', '', 'user-m', :now)"
                ),
                {"now": now},
            )
            spec = '{"name": "m", "project": "m", "model": {"entrypoint": "a.b:C"}}'
            conn.execute(
                text(
                    "INSERT INTO experiments (id, project_id, owner_id, name, description, "
                    "spec, tags, created_at) VALUES ('exp-m', 'project-m', 'user-m', 'm', '', "
                    ":spec, '[]', :now)"
                ),
                {"spec": spec, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO runs (id, experiment_id, project_id, owner_id, trial_index, "
                    "state, attempt, spec, params, priority, devices, created_at) VALUES "
                    "(:r, 'exp-m', 'project-m', 'user-m', 0, 'queued', 1, :spec, '{}', 0, "
                    "'[]', :now)"
                ),
                {"r": run_id, "spec": spec, "now": now},
            )
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO metric_series (id, run_id, key) VALUES (7, :r, 'loss')"),
                {"r": run_id},
            )
            conn.execute(
                text(
                    "INSERT INTO metric_points (series_id, step, epoch, value, wall_time,"
                    " attempt, seq) VALUES (7, :step, :epoch, :value, :wall, :attempt, :seq)"
                ),
                [
                    {
                        "step": step,
                        "epoch": step // 100 if step % 7 else None,
                        "value": None if step == 450 else float(step % 97),
                        "wall": 1e9 + step,
                        "attempt": 1 + step // 400,
                        "seq": step // 10,
                    }
                    for step in range(0, 700)
                ],
            )
        return run_id
    finally:
        engine.dispose()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'converted.db'}"
    else:
        url = create_postgres_database()
        try:
            yield url
        finally:
            drop_postgres_database(url)


@pytest.mark.slow
def test_points_become_blocks_and_back_without_a_change(empty_url: str) -> None:
    import math

    from alembic import command
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from server.metrics.models import MetricSeries
    from server.metrics.repository import whole_series_points

    run_id = _run_at_0003(empty_url)
    engine = make_engine(empty_url)
    columns = "step, epoch, value, wall_time, attempt, seq"
    try:
        with engine.connect() as conn:
            before = conn.execute(text(f"SELECT {columns} FROM metric_points ORDER BY step")).all()
        upgrade_to_head(empty_url)
        with Session(engine) as session:
            points = whole_series_points(session, [7])[7]
            assert points.step.tolist() == [r.step for r in before]
            assert points.attempt.tolist() == [r.attempt for r in before]
            assert math.isnan(points.value[450])  # the old model's NULL is NaN now
            series = session.scalar(select(MetricSeries).where(MetricSeries.run_id == run_id))
            assert series is not None
            assert (series.points, series.first_step, series.last_step) == (700, 0, 699)
            assert (series.min_step, series.min_value) == (0, 0.0)
            assert (series.max_step, series.max_value) == (96, 96.0)
        command.downgrade(alembic_config(empty_url), "0003_coarse_rollups")
        with engine.connect() as conn:
            after = conn.execute(text(f"SELECT {columns} FROM metric_points ORDER BY step")).all()
        assert after == before
    finally:
        engine.dispose()


def test_existing_runs_get_their_flat_params_at_0008(empty_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from server.runs.params import flat_params

    command.upgrade(alembic_config(empty_url), "0006_preemption")
    engine = make_engine(empty_url)
    spec = {
        "name": "m",
        "project": "m",
        "model": {"entrypoint": "a.b:C", "init_args": {"lr": 0.1, "optim": {"name": "adam"}}},
        "trainer": {"max_epochs": 4, "precision": "bf16"},
    }
    searched = {"model.init_args.lr": 0.1}
    try:
        import json

        now = "2026-01-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, is_admin, is_active, created_at) "
                    "VALUES ('user-p', 'p@example.test', 'p', true, true, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, description, created_by, created_at) "
                    "VALUES ('project-p', 'p', '', 'user-p', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO experiments (id, project_id, owner_id, name, description, "
                    "spec, tags, created_at) VALUES ('exp-p', 'project-p', 'user-p', 'm', '', "
                    ":spec, '[]', :now)"
                ),
                {"spec": json.dumps(spec), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO runs (id, experiment_id, project_id, owner_id, trial_index, "
                    "state, attempt, spec, params, priority, devices, created_at) VALUES "
                    "('run-p', 'exp-p', 'project-p', 'user-p', 0, 'completed', 1, :spec, "
                    ":params, 0, '[]', :now)"
                ),
                {"spec": json.dumps(spec), "params": json.dumps(searched), "now": now},
            )
        upgrade_to_head(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT key, value_num, value_text FROM run_params WHERE run_id = 'run-p'")
            ).all()
            notes = conn.execute(text("SELECT notes FROM runs WHERE id = 'run-p'")).scalar()
        assert {key for key, _, _ in rows} == set(flat_params(spec, searched))
        by_key = {key: (num, txt) for key, num, txt in rows}
        assert by_key["model.lr"] == (0.1, None)
        assert by_key["model.optim.name"] == (None, "adam")
        assert by_key["trainer.precision"] == (None, "bf16")
        assert notes == ""
        command.downgrade(alembic_config(empty_url), "0006_preemption")
    finally:
        engine.dispose()
