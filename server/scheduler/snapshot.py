"""Reading the database into the placement's inputs: queued runs, live workers and their free
slots, usage against quotas, and each user's recent GPU-time."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from runyard.schemas import ExperimentSpec, RunState
from runyard.schemas.tracking import RunKind
from server.attempts.models import AttemptNode, RunAttempt
from server.attempts.service import held_slots
from server.projects.models import Project
from server.runs.models import Run
from server.scheduler.placement import QueuedRun, Quotas, WorkerState
from server.scheduler.settings import SchedulerSettings
from server.users.models import User
from server.workers.models import Worker

ACTIVE = (RunState.scheduled.value, RunState.running.value)
SCHEDULED = Run.kind == RunKind.scheduled.value
"""External runs (logged from outside the cluster) hold no slots and are never placed."""


def run_slots(run: Run) -> tuple[int, int]:
    """(slots per node, nodes) of a run; a CPU-only run still takes one slot per node."""
    resources = ExperimentSpec.model_validate(run.spec).resources
    return max(resources.gpus_per_node, 1), resources.nodes


def is_alive(worker: Worker, now: datetime, timeout: timedelta) -> bool:
    return worker.state != "dead" and now - worker.last_heartbeat <= timeout


@dataclass
class Snapshot:
    queued: list[QueuedRun]
    workers: list[WorkerState]
    addresses: dict[str, str]
    worker_ids: dict[str, str]
    """Worker name -> row id (runs.worker_id holds the id)."""
    user_usage: dict[str, int]
    project_usage: dict[str, int]
    recent_gpu_seconds: dict[str, float]
    quotas: Quotas


def _recent_gpu_seconds(session: Session, now: datetime, window: timedelta) -> dict[str, float]:
    """Slot-seconds each user's runs held within the window, from the attempts' slot holdings:
    every attempt counts (a preempted or restarted one too), from its dispatch until its slots
    were released, or until now while it holds them."""
    start = now - window
    rows = session.execute(
        select(Run.owner_id, AttemptNode.slots, AttemptNode.dispatched_at, AttemptNode.released_at)
        .join(RunAttempt, RunAttempt.fence == AttemptNode.fence)
        .join(Run, Run.id == RunAttempt.run_id)
        .where(or_(AttemptNode.released_at.is_(None), AttemptNode.released_at >= start))
    )
    seconds: dict[str, float] = defaultdict(float)
    for owner, slots, dispatched_at, released_at in rows:
        held = (min(released_at or now, now) - max(dispatched_at, start)).total_seconds()
        seconds[owner] += max(held, 0.0) * max(len(slots), 1)
    return dict(seconds)


def _quotas(session: Session, settings: SchedulerSettings, user_ids: set[str]) -> Quotas:
    per_user: dict[str, int] = {}
    if settings.default_user_quota is not None:
        per_user = dict.fromkeys(user_ids, settings.default_user_quota)
    if settings.user_quotas:
        for user in session.scalars(select(User).where(User.email.in_(settings.user_quotas))):
            per_user[user.id] = settings.user_quotas[user.email]
    per_project: dict[str, int] = {}
    if settings.project_quotas:
        projects = select(Project).where(Project.name.in_(settings.project_quotas))
        for project in session.scalars(projects):
            per_project[project.id] = settings.project_quotas[project.name]
    return Quotas(per_user=per_user, per_project=per_project)


def take_snapshot(session: Session, settings: SchedulerSettings, now: datetime) -> Snapshot:
    timeout = timedelta(seconds=settings.worker_timeout_seconds)
    rows = list(session.scalars(select(Worker)))
    live = [w for w in rows if is_alive(w, now, timeout)]
    # Slots stay held until their attempt's processes are known to be gone (see attempts).
    held = held_slots(session)
    active = list(session.scalars(select(Run).where(SCHEDULED, Run.state.in_(ACTIVE))))
    workers = []
    # A draining worker finishes what it has but takes nothing new.
    for w in (w for w in live if w.state != "draining"):
        slots = tuple(str(i) for i in range(w.slots_total))
        workers.append(WorkerState(w.name, slots, tuple(s for s in slots if s not in held[w.name])))

    queued = []
    for run in session.scalars(select(Run).where(SCHEDULED, Run.state == RunState.queued.value)):
        per_node, nodes = run_slots(run)
        queued.append(
            QueuedRun(
                id=run.id,
                user=run.owner_id,
                project=run.project_id,
                priority=run.priority,
                slots_per_node=per_node,
                nodes=nodes,
                queued_at=run.queued_at or run.created_at,
            )
        )
    user_usage: dict[str, int] = defaultdict(int)
    project_usage: dict[str, int] = defaultdict(int)
    for run in active:
        per_node, nodes = run_slots(run)
        user_usage[run.owner_id] += per_node * nodes
        project_usage[run.project_id] += per_node * nodes
    window = timedelta(seconds=settings.fair_share_window_seconds)
    return Snapshot(
        queued=queued,
        workers=workers,
        addresses={w.name: w.hostname or "127.0.0.1" for w in live},
        worker_ids={w.name: w.id for w in live},
        user_usage=dict(user_usage),
        project_usage=dict(project_usage),
        recent_gpu_seconds=_recent_gpu_seconds(session, now, window),
        quotas=_quotas(session, settings, {q.user for q in queued}),
    )
