"""Worker settings: one class, from RUNYARD_WORKER_* environment variables."""

import socket
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """Built by `python -m worker` (or a test), never at import time."""

    model_config = SettingsConfigDict(
        env_prefix="RUNYARD_WORKER_", extra="ignore", populate_by_name=True
    )

    name: str = Field(
        default_factory=socket.gethostname,
        description="unique worker name; its Celery queue is worker.<name>",
    )
    server_url: str = "http://127.0.0.1:8000"
    token: SecretStr | None = Field(
        default=None, description="worker token (ry_worker_...) for heartbeats and uploads"
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "runyard"
    gpus: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="declared GPU slots; unset means the CUDA devices torch sees (or one CPU slot)",
    )
    advertise_addr: str = Field(
        default_factory=lambda: socket.gethostbyname(socket.gethostname()),
        description="address other workers reach this one at (MASTER_ADDR of multi-node runs)",
    )
    work_dir: Path = Path(".runyard/worker/work")
    spool_dir: Path = Path(".runyard/worker/spool")
    cancel_grace_seconds: float = Field(default=5.0, ge=0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    metric_batch_size: int = Field(default=500, ge=1)
    python: str = Field(default="", description="interpreter for run children; default: this one")
    environment: Literal["local", "production"] = Field(
        default="local",
        validation_alias="RUNYARD_ENVIRONMENT",
        description="shared with the server: production refuses a Redis without a password",
    )

    @model_validator(mode="after")
    def _refuse_unauthenticated_redis(self) -> Self:
        if self.environment == "production" and not urlparse(self.redis_url).password:
            raise ValueError(
                "refusing to start in production: RUNYARD_WORKER_REDIS_URL has no password; "
                "Redis must require authentication (redis://:<password>@host:6379/0)"
            )
        return self
