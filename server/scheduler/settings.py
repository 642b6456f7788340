"""Scheduler settings (RUNYARD_SCHEDULER_*). The database and Redis come from the server's
`Settings`; these are the scheduler's own knobs."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SchedulerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNYARD_SCHEDULER_", extra="ignore")

    tick_seconds: float = Field(default=1.0, gt=0, description="time between decisions")
    lock_ttl_seconds: float = Field(
        default=10.0, gt=0, description="leadership lapses this long after a leader stops"
    )
    worker_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a worker silent this long (on HTTP and Redis, while either could hear it) "
        "is dead; its runs stop by themselves at 3/4 of it (their lease), then are requeued",
    )
    dispatch_timeout_seconds: float = Field(
        default=120.0, gt=0, description="a scheduled run no worker started is requeued after"
    )
    redispatch_seconds: float = Field(
        default=10.0, gt=0, description="a task its worker has not acknowledged is sent again"
    )
    server_presence_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="the server counts as down (no heartbeats can arrive) this long after it "
        "last recorded its presence",
    )
    external_run_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="a run logged from outside the cluster (runyard.init, MLflow's client) whose "
        "client is silent this long while the server is up is failed as abandoned; anything "
        "the client sends later makes it running again",
    )
    fair_share_window_seconds: float = Field(default=7 * 24 * 3600, gt=0)

    public_url: str = Field(
        default="http://127.0.0.1:8000", description="the server URL workers are given"
    )
    default_user_quota: int | None = Field(default=None, ge=0, description="GPU slots per user")
    user_quotas: dict[str, int] = Field(
        default_factory=dict, description='per user email, JSON: {"ann@x.org": 8}'
    )
    project_quotas: dict[str, int] = Field(
        default_factory=dict, description='per project name, JSON: {"vision": 16}'
    )
    preemption: bool = Field(
        default=True,
        description="preempt running runs to place a higher-priority run, or one of a user "
        "below their fair share",
    )
    preemption_fair_share: bool = Field(
        default=True, description="also reclaim slots for users below their fair share"
    )
    preemption_min_runtime_seconds: float = Field(
        default=300.0, ge=0, description="a run is never preempted before it ran this long"
    )
    preemption_max_per_hour: int = Field(
        default=30, ge=0, description="preemptions in any hour, across the cluster"
    )

    @property
    def lease_seconds(self) -> float:
        """How long a run goes on after its worker last reached the server or Redis."""
        return self.worker_timeout_seconds * 0.75
