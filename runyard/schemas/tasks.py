"""Celery task payloads between the scheduler (server side) and the workers.

The server sends tasks by *name* (`RUN_TASK`) to a worker's own queue (`worker_queue`), so it
never imports the worker package; both sides validate the payload with these models.
"""

from pydantic import BaseModel, ConfigDict, Field

from runyard.schemas.spec import ExperimentSpec

RUN_TASK = "runyard.worker.run"
"""Name of the Celery task that runs one node of a run attempt on a worker."""


def worker_queue(worker_name: str) -> str:
    """The Celery queue a worker consumes; the scheduler routes a run's tasks to it."""
    return f"worker.{worker_name}"


def broker_transport_options(prefix: str) -> dict[str, str]:
    """Celery/kombu Redis transport options both the sender and the workers use, so a
    deployment's (or a test's) broker keys live under its prefix."""
    return {"global_keyprefix": f"{prefix}:celery:"}


def cancel_channel(prefix: str) -> str:
    """Redis pub/sub channel the server's cancel route publishes `CancelNotice` JSON on (a
    bare run id is accepted too); every worker listens and stops the runs it holds."""
    return f"{prefix}:cancel"


def assignment_key(prefix: str, run_id: str) -> str:
    """Redis key holding the run's current `AssignmentRecord`, a cache of SQL that the
    scheduler rewrites every tick (so a Redis restart loses nothing): a worker starts a task
    only if its fence matches, which makes a redelivered or stale task a no-op, and stops an
    attempt the record says has ended."""
    return f"{prefix}:assignment:{run_id}"


def worker_beat_key(prefix: str, worker_name: str) -> str:
    """Redis key where a worker writes its `WorkerBeat` with every heartbeat: the second
    channel of liveness, so a server outage does not make healthy workers look dead."""
    return f"{prefix}:worker:{worker_name}:beat"


class AssignmentRecord(BaseModel):
    """Who holds a run's current attempt (the value at `assignment_key`)."""

    model_config = ConfigDict(extra="ignore")

    fence: int = Field(ge=1)
    attempt: int = Field(ge=1)
    workers: list[str]
    ended: bool = False
    cancel: bool = Field(default=False, description="the run's owner asked to cancel it")
    preempt: str | None = Field(
        default=None,
        description="the scheduler asks the attempt to checkpoint and stop, for this reason",
    )


class HeldAttempt(BaseModel):
    """One node of an attempt, as a worker reports it."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(max_length=64)
    fence: int = Field(ge=1)
    node_rank: int = Field(default=0, ge=0)


class WorkerReport(BaseModel):
    """What a worker process reports about the attempts it holds, with every heartbeat (over
    HTTP and over Redis). `attempts`: every node it holds, from the moment it accepts the task
    until the node's processes are gone and its uploads are done. `lost`: nodes it gave up
    without finishing (its lease lapsed, it was shutting down), until told they have ended."""

    model_config = ConfigDict(extra="ignore")

    incarnation: str = Field(min_length=1, max_length=64)
    attempts: list[HeldAttempt] = Field(default_factory=list, max_length=4096)
    lost: list[HeldAttempt] = Field(default_factory=list, max_length=4096)


class WorkerBeat(WorkerReport):
    """The Redis heartbeat; `n` increases with every beat, so a reader sees it is fresh
    without trusting the worker's clock."""

    name: str = Field(min_length=1, max_length=200)
    n: int = Field(ge=0)


class RunAssignment(BaseModel):
    """Everything a worker needs to start its node of a run attempt. Carries a run-scoped
    token only: the worker token and database credentials never travel with a task."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    attempt: int = Field(ge=1)
    fence: int = Field(
        ge=1, description="the attempt's fencing number; events and uploads carry it"
    )
    worker_name: str
    spec: ExperimentSpec
    slots: list[str] = Field(description="slot ids (CUDA ordinals) reserved on this worker")
    run_token: str = Field(description="run-scoped bearer token for the user code's side")
    server_url: str
    bundle_url: str | None = Field(default=None, description="code bundle (tar.gz) to unpack")
    resume_checkpoint_url: str | None = Field(
        default=None, description="checkpoint to resume from (requeued attempts)"
    )
    node_rank: int = Field(default=0, ge=0)
    num_nodes: int = Field(default=1, ge=1)
    master_addr: str | None = None
    master_port: int | None = Field(default=None, ge=1, le=65535)
    lease_seconds: float = Field(
        default=20.0,
        gt=0,
        description="the run may go on this long after its worker last reached the server or "
        "Redis; past it the sandbox tears the run down, so the scheduler can reassign its slots",
    )
    ends_paused: bool = Field(
        default=False,
        description="an ASHA trial training to the end of a rung below the top (the spec's "
        "trainer.max_epochs is that rung's): it ends `paused` with its last checkpoint and "
        "no export, for its search to promote or stop",
    )


class CancelNotice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    attempt: int | None = Field(default=None, description="None cancels whatever attempt runs")
    reason: str = "canceled by user"
