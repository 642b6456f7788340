"""Worker settings: one class, from RUNYARD_WORKER_* environment variables."""

import os
import socket
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    preempt_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        description="a preempted run that has not checkpointed and stopped by then is stopped "
        "(it resumes from its last checkpoint)",
    )
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    metric_batch_size: int = Field(default=500, ge=1)
    system_metrics_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how often each run's CPU, memory and GPUs are sampled into its system/* "
        "series; 0 turns sampling off",
    )
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

    # --- the run sandbox (worker/sandbox) ---
    isolation: Literal["sandbox", "none"] = Field(
        default="sandbox",
        description="'sandbox': every run in its own bubblewrap sandbox (the worker refuses to "
        "start where it cannot build one); 'none': runs are NOT isolated from each other or "
        "from the worker (trusted single-user machines only)",
    )
    sandbox_uids: str = Field(
        default="200000-200999",
        description="uid range (first-last) for sandboxes; each sandbox takes one uid, unique "
        "among all workers on the machine, used as its gid too",
    )
    sandbox_extra_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="more directories runs may read (code outside the Python environment), "
        "separated by ':' like PATH",
    )
    sandbox_dir: Path | None = Field(
        default=None, description="where sandboxes' directories live; default <work_dir>/sandboxes"
    )
    sandbox_lock_dir: Path = Field(
        default=Path("/run/runyard/sandbox-uids"),
        description="root-only directory of uid lock files, shared by every worker on the machine",
    )
    sandbox_spares: int = Field(
        default=1, ge=0, le=8, description="pre-started sandboxes kept ready (0: start each cold)"
    )
    sandbox_bwrap: str = Field(default="bwrap", description="the bubblewrap executable")

    @field_validator("sandbox_extra_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p]
        return value

    @field_validator("sandbox_uids")
    @classmethod
    def _check_uids(cls, value: str) -> str:
        first, sep, last = value.partition("-")
        if not (sep and first.strip().isdigit() and last.strip().isdigit()):
            raise ValueError(f"sandbox_uids {value!r} must look like '200000-200999'")
        low, high = int(first), int(last)
        if low < 1000 or high < low or high >= 2**32 - 1:
            raise ValueError(
                f"sandbox_uids {value!r}: give an ascending range of unused uids above 999 "
                "(system and login accounts live below)"
            )
        return value

    @property
    def sandbox_uid_range(self) -> range:
        first, _, last = self.sandbox_uids.partition("-")
        return range(int(first), int(last) + 1)

    @property
    def sandbox_root(self) -> Path:
        return (self.sandbox_dir or self.work_dir / "sandboxes").resolve()

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
