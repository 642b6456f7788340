from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SlotHolder(BaseModel):
    """Who holds a slot. Runs outside the caller's projects show only that the slot is taken."""

    run_id: str | None = Field(description="null when the run is in a project you are not in")
    experiment_name: str | None
    owner: str | None = Field(description="the owner's email; null outside your projects")
    project: str | None = Field(description="the project's name; null outside your projects")
    state: str


class SlotPublic(BaseModel):
    slot: str
    holder: SlotHolder | None = Field(description="null when the slot is free")


class ClusterWorker(BaseModel):
    id: str
    name: str
    hostname: str
    state: str = Field(description="online, draining or dead (as the worker last reported)")
    alive: bool = Field(description="false when its heartbeat is older than the timeout")
    seconds_since_heartbeat: float
    gpu_names: list[str]
    slots: list[SlotPublic]


QueueReason = Literal[
    "starting",
    "unplaceable",
    "over_quota",
    "no_node_with_free_slots",
    "gang_waiting",
    "held_for_larger_run",
    "reserved",
    "preempting",
    "fair_share",
]


class QueueEntry(BaseModel):
    position: int = Field(description="1 = considered first by the scheduler")
    user_position: int = Field(description="its place among its owner's own queued runs")
    run_id: str | None = Field(description="null when the run is in a project you are not in")
    experiment_name: str | None
    owner: str | None
    project: str | None
    priority: int
    slots: int = Field(description="slots the run needs in all (per node x nodes)")
    nodes: int
    queued_at: datetime
    reason: QueueReason = Field(description="what holds it (starting: nothing)")
    note: str = Field(description="why the run waits, in words")
    wait_seconds: float | None = Field(
        description="estimated wait until it starts, from the running runs' progress and the "
        "typical length of finished runs; null where nothing tells"
    )


class UserShare(BaseModel):
    user: str = Field(description="an email; other teams' users are summed as 'other teams'")
    recent_gpu_seconds: float
    share: float = Field(description="fraction of all recent GPU time, 0..1")
    slots_in_use: int
    quota: int | None = Field(description="GPU-slot cap; null for none")


class ClusterPublic(BaseModel):
    workers: list[ClusterWorker]
    queue: list[QueueEntry]
    queue_total: int = Field(description="queued runs in all (the list may be cut short)")
    users: list[UserShare]
    fair_share_window_seconds: float
