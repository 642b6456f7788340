"""Worker settings: one class, from RUNYARD_WORKER_* environment variables."""

import socket
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """Built by `python -m worker` (or a test), never at import time."""

    model_config = SettingsConfigDict(env_prefix="RUNYARD_WORKER_", extra="ignore")

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
    accept_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="how long a received task waits for the server to hand its node over",
    )
    restart_upload_seconds: float = Field(
        default=60.0,
        ge=0,
        description="at start, how long to finish the previous process's uploads before "
        "reporting (the attempts they belong to are requeued once this process reports)",
    )
