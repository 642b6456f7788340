from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runyard.schemas import WorkerReport


class WorkerHeartbeat(WorkerReport):
    """What a worker reports every few seconds (see worker/heartbeat.py), with the report of
    the attempts it holds (`WorkerReport`)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    queue: str = Field(min_length=1, max_length=200)
    hostname: str = Field(default="", max_length=255)
    address: str | None = Field(default=None, max_length=255)
    slots_total: int = Field(ge=0, le=4096)
    slots: list[str] = Field(default_factory=list, max_length=4096)
    gpu_names: list[str] = Field(default_factory=list, max_length=4096)
    state: Literal["online", "draining"] = "online"
    isolation: Literal["sandbox", "none"] = "sandbox"
    since: datetime | None = Field(
        default=None,
        description="server_time of the answer to the previous heartbeat: this report was taken "
        "after it, so attempts that ended before it and are not listed have stopped here",
    )


class WorkerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    queue: str
    hostname: str
    slots_total: int
    gpu_names: list[str]
    last_heartbeat: datetime
    state: str
    seconds_since_heartbeat: float
    isolation: str = "sandbox"


class HeartbeatAck(BaseModel):
    worker_id: str
    received_at: datetime
    server_time: datetime = Field(description="echo it as `since` in the next heartbeat")
    ended: list[int] = Field(
        default_factory=list,
        description="fences the worker reported whose attempt has ended: stop them, forget them",
    )
    cancel: list[int] = Field(
        default_factory=list, description="fences it holds whose run's owner asked to cancel"
    )
    preempt: dict[int, str] = Field(
        default_factory=dict,
        description="fences it holds that the scheduler asks to checkpoint and stop, with why",
    )
