"""The server's settings: one class, read from RUNYARD_* environment variables.

Built by `create_app(settings)` or `python -m server`, never at import time, so tests and
several apps in one process can each have their own.
"""

import sys
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.bundled import dashboard_dir


class SettingsError(ValueError):
    """Settings that would be unsafe or inconsistent; the message says which variable to set."""


REDIS_PASSWORD_HINT = (
    "{variable} has no password: Redis must require authentication "
    "(redis://:<password>@host:6379/0, with requirepass set on the Redis server)"
)


def redis_url_has_password(url: str) -> bool:
    """Redis requires authentication in production; a URL without a password would connect to
    a Redis anyone on the network (or any run) could reach."""
    return bool(urlparse(url).password)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNYARD_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    data_dir: Path = Path(".runyard")
    database_url: str = Field(default="", description="default: sqlite:///<data_dir>/runyard.db")
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field(default="runyard", pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    artifact_dir: Path | None = Field(default=None, description="default: <data_dir>/artifacts")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1, description="any one request body")
    max_spec_bytes: int = Field(default=1024**2, ge=1, description="a JSON or YAML spec body")
    max_bundle_bytes: int = Field(default=64 * 1024**2, ge=1, description="a compressed bundle")
    max_bundle_unpacked_bytes: int = Field(default=512 * 1024**2, ge=1)
    max_bundle_members: int = Field(default=10_000, ge=1)
    web_dist: Path = Field(
        default_factory=dashboard_dir,
        description="the dashboard build (default: the installed package's, else web/dist)",
    )
    ingest_in_process: bool = Field(default=True, description="run the ingester in the app")
    max_metric_keys_per_run: int = Field(
        default=10_000, ge=1, description="points of further keys are not stored"
    )
    max_log_bytes_per_run: int = Field(
        default=256 * 1024**2, ge=1024, description="past it the oldest lines are dropped"
    )
    max_event_bytes: int = Field(
        default=16 * 1024**2, ge=1024, description="a larger event is dead-lettered unread"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=24,
        description="a bearer token that reads /metrics and nothing else (for Prometheus)",
    )

    @model_validator(mode="after")
    def _fill_defaults_and_refuse_unsafe(self) -> Self:
        explicit_db = bool(self.database_url)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'runyard.db'}"
        if self.artifact_dir is None:
            self.artifact_dir = self.data_dir / "artifacts"
        if self.environment == "production":
            problems = []
            if not explicit_db:
                problems.append("set RUNYARD_DATABASE_URL (the default is a local SQLite file)")
            if not self.data_dir.is_absolute():
                problems.append("set RUNYARD_DATA_DIR to an absolute path")
            if not redis_url_has_password(self.redis_url):
                problems.append(REDIS_PASSWORD_HINT.format(variable="RUNYARD_REDIS_URL"))
            if problems:
                raise SettingsError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def artifacts(self) -> Path:
        """The artifact directory (always set after validation)."""
        assert self.artifact_dir is not None
        return self.artifact_dir


def settings_or_exit(component: str) -> Settings:
    """The settings from the environment, or exit with status 2 and a one-line reason per
    problem (not a traceback): what `python -m server`, the scheduler and the ingester use."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"runyard {component}: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
