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
