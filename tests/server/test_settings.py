"""Settings: documented defaults, derived paths, and refusal of local defaults in production."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import Settings
from worker.settings import WorkerSettings


def test_defaults_derive_the_database_and_artifacts_from_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNYARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RUNYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("RUNYARD_ARTIFACT_DIR", raising=False)
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'runyard.db'}"
    assert settings.artifacts == tmp_path / "artifacts"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_production_refuses_local_defaults_and_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RUNYARD_DATABASE_URL", "RUNYARD_DATA_DIR", "RUNYARD_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="RUNYARD_DATABASE_URL"):
        Settings(environment="production")


def test_production_accepts_explicit_settings(tmp_path: Path) -> None:
    settings = Settings(
        environment="production",
        database_url="postgresql://runyard@db/runyard",
        data_dir=tmp_path,
        redis_url="redis://:s3cret@redis:6379/0",
    )
    assert settings.artifacts == tmp_path / "artifacts"


def test_production_refuses_a_redis_url_without_a_password(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="RUNYARD_REDIS_URL has no password") as refused:
        Settings(
            environment="production",
            database_url="postgresql://runyard@db/runyard",
            data_dir=tmp_path,
            redis_url="redis://redis:6379/0",
        )
    assert "requirepass" in str(refused.value)


def test_the_worker_refuses_a_redis_url_without_a_password_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNYARD_ENVIRONMENT", "production")
    monkeypatch.setenv("RUNYARD_WORKER_REDIS_URL", "redis://redis:6379/0")
    with pytest.raises(ValidationError, match="RUNYARD_WORKER_REDIS_URL has no password"):
        WorkerSettings()
    monkeypatch.setenv("RUNYARD_WORKER_REDIS_URL", "redis://:s3cret@redis:6379/0")
    assert WorkerSettings().environment == "production"


def test_local_mode_accepts_a_redis_url_without_a_password() -> None:
    assert Settings(redis_url="redis://127.0.0.1:6379/0").environment == "local"


@pytest.mark.parametrize("module", ["server", "server.ingest", "server.scheduler", "worker"])
def test_each_process_refuses_an_unauthenticated_redis_in_production_in_one_line(
    module: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    env |= {
        "RUNYARD_ENVIRONMENT": "production",
        "RUNYARD_DATABASE_URL": "postgresql+psycopg://runyard@127.0.0.1:1/none",
        "RUNYARD_DATA_DIR": str(tmp_path),
        "RUNYARD_REDIS_URL": "redis://127.0.0.1:6379/0",
        "RUNYARD_WORKER_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "REDIS_URL has no password" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
