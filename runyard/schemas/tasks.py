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
    """Redis key the scheduler sets (JSON `{"attempt": n, "workers": [...]}`) before sending a
    run's tasks; a worker starts a task only if it still matches, which makes a redelivered or
    stale task (the run was requeued or canceled meanwhile) a no-op."""
    return f"{prefix}:assignment:{run_id}"


def worker_runs_key(prefix: str, worker_name: str) -> str:
    """Redis key where a worker keeps the JSON list of run ids it is running (refreshed with
    every heartbeat, expiring soon after): the scheduler requeues a `running` run that its
    live worker no longer holds (the worker restarted and lost it)."""
    return f"{prefix}:worker:{worker_name}:runs"


class RunAssignment(BaseModel):
    """Everything a worker needs to start its node of a run attempt. Carries a run-scoped
    token only: the worker token and database credentials never travel with a task."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    attempt: int = Field(ge=1)
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


class CancelNotice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    attempt: int | None = Field(default=None, description="None cancels whatever attempt runs")
    reason: str = "canceled by user"
