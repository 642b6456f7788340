"""The cluster view: a read-only picture of what the scheduler sees.

Scheduling order and the would-start-now decision come from the scheduler's own pure
functions (`server.scheduler.placement.decide`) over the same snapshot the leader reads, so
the page shows the order the scheduler really uses rather than a second guess at it.
"""

import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas import ExperimentSpec
from runyard.schemas.tracking import RunKind
from server.artifacts.models import Checkpoint
from server.attempts.models import AttemptNode, RunAttempt
from server.attempts.service import holding_nodes
from server.cluster.schemas import (
    ClusterPublic,
    ClusterWorker,
    QueueEntry,
    SlotHolder,
    SlotPublic,
    UserShare,
)
from server.db import utcnow
from server.errors import Conflict
from server.experiments.asha_search import rung_assignment
from server.experiments.models import Experiment
from server.projects.models import Project, ProjectMember
from server.projects.service import readable_project_ids
from server.runs.models import Run
from server.runs.repository import get_readable_run
from server.scheduler.placement import QueuedRun, decide, scheduling_order
from server.scheduler.queue_explain import Holding, Waiting, explain, remaining_seconds
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import Snapshot, is_alive, take_snapshot
from server.users.models import User
from server.workers.models import Worker

OTHER_TEAMS = "other teams"
_FOR_RUN = re.compile(r"for run (\S+)")


def _holdings(session: Session, now: datetime) -> list[Holding]:
    """The running attempts, with their expected time to finish from their progress."""
    rows = session.execute(
        select(RunAttempt, Run)
        .join(Run, Run.id == RunAttempt.run_id)
        .where(RunAttempt.ended_at.is_(None))
    ).all()
    epochs_done = dict(
        session.execute(
            select(Checkpoint.run_id, func.max(Checkpoint.epoch)).group_by(Checkpoint.run_id)
        ).all()
    )
    holdings = []
    for attempt, run in rows:
        slots: dict[str, int] = defaultdict(int)
        for node in session.scalars(select(AttemptNode).where(AttemptNode.fence == attempt.fence)):
            if node.released_at is None:
                slots[node.worker_name] += len(node.slots)
        planned = ExperimentSpec.model_validate(run.spec).trainer.max_epochs
        if run.rung is not None and (experiment := session.get(Experiment, run.experiment_id)):
            # An ASHA trial's attempt trains to the end of its rung, not to max_epochs.
            spec = ExperimentSpec.model_validate(experiment.spec)
            planned = rung_assignment(spec, run.rung).max_epochs
        resumed_from = (
            session.get(Checkpoint, run.resume_checkpoint_id) if run.resume_checkpoint_id else None
        )
        start_epochs = (resumed_from.epoch + 1) if resumed_from is not None else 0
        done = (epochs_done[run.id] + 1) if run.id in epochs_done else 0
        remaining = None
        if run.state == "running" and run.started_at is not None and planned:
            remaining = remaining_seconds(
                (now - run.started_at).total_seconds(), done - start_epochs, planned - start_epochs
            )
        holdings.append(
            Holding(
                slots_by_worker=dict(slots),
                remaining_seconds=remaining,
                preempting=run.preempt_requested_at is not None,
            )
        )
    return holdings


def _typical_seconds(session: Session, now: datetime) -> float | None:
    """The median length of the runs that finished in the last week."""
    rows = session.execute(
        select(Run.started_at, Run.finished_at)
        .where(
            Run.state == "completed",
            Run.kind == RunKind.scheduled.value,  # a run logged from outside took no slots
            Run.finished_at >= now - timedelta(days=7),
            Run.started_at.is_not(None),
        )
        .order_by(Run.finished_at.desc())
        .limit(500)
    ).all()
    lengths = [(end - start).total_seconds() for start, end in rows if start and end]
    return statistics.median(lengths) if lengths else None


def _preempting_for(session: Session) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for reason in session.scalars(
        select(Run.preempt_reason).where(Run.preempt_requested_at.is_not(None))
    ):
        if reason and (found := _FOR_RUN.search(reason)):
            counts[found.group(1)] += 1
    return dict(counts)


def explain_queue(session: Session, snapshot: Snapshot, now: datetime) -> list[Waiting]:
    """Every queued run's place, reason and wait estimate, as the scheduler sees them."""
    order = scheduling_order(snapshot.queued, snapshot.recent_gpu_seconds)
    decision = decide(
        snapshot.queued,
        snapshot.workers,
        quotas=snapshot.quotas,
        user_usage=snapshot.user_usage,
        project_usage=snapshot.project_usage,
        recent_gpu_seconds=snapshot.recent_gpu_seconds,
    )
    return explain(
        order,
        snapshot.queued,
        snapshot.workers,
        decision,
        quotas=snapshot.quotas,
        user_usage=snapshot.user_usage,
        project_usage=snapshot.project_usage,
        running=_holdings(session, now),
        typical_seconds=_typical_seconds(session, now),
        preempting_for=_preempting_for(session),
    )


def _holders(session: Session) -> dict[tuple[str, str], Run]:
    """(worker id, slot) -> the run holding it, from the attempts' nodes in SQL."""
    ids_by_name = {name: wid for wid, name in session.execute(select(Worker.id, Worker.name))}
    held: dict[tuple[str, str], Run] = {}
    for node in holding_nodes(session):
        attempt = session.get(RunAttempt, node.fence)
        run = session.get(Run, attempt.run_id) if attempt is not None else None
        if run is None:
            continue
        for slot in node.slots:
            held[(ids_by_name.get(node.worker_name, node.worker_name), str(slot))] = run
    return held


def slots_in_use(session: Session) -> dict[str, int]:
    """Worker id -> how many of its slots an attempt holds."""
    used: dict[str, int] = defaultdict(int)
    for worker_id, _slot in _holders(session):
        used[worker_id] += 1
    return dict(used)


class _Names:
    """Names for the runs, users and projects the caller may see; None for the others."""

    def __init__(self, session: Session, user: User, run_ids: set[str]) -> None:
        self.readable = set(session.scalars(readable_project_ids(user)))
        projects = session.execute(select(Project.id, Project.name))
        self.projects = {pid: name for pid, name in projects if pid in self.readable}
        visible_users = set(
            session.scalars(
                select(ProjectMember.user_id).where(ProjectMember.project_id.in_(self.readable))
            )
        ) | {user.id}
        emails = session.execute(select(User.id, User.email))
        self.emails = {uid: email for uid, email in emails if user.is_admin or uid in visible_users}
        rows = session.execute(
            select(Run.id, Run.project_id, Experiment.name)
            .join(Experiment, Experiment.id == Run.experiment_id)
            .where(Run.id.in_(run_ids))
        )
        self.experiments = {rid: name for rid, pid, name in rows if pid in self.readable}

    def holder(self, run: Run) -> SlotHolder:
        if run.project_id not in self.readable:
            return SlotHolder(
                run_id=None, experiment_name=None, owner=None, project=None, state=run.state
            )
        return SlotHolder(
            run_id=run.id,
            experiment_name=self.experiments.get(run.id),
            owner=self.emails.get(run.owner_id),
            project=self.projects.get(run.project_id),
            state=run.state,
        )


def cluster_view(session: Session, user: User, queue_limit: int) -> ClusterPublic:
    settings = SchedulerSettings()
    now = utcnow()
    snapshot = take_snapshot(session, settings, now)
    holders = _holders(session)
    order = scheduling_order(snapshot.queued, snapshot.recent_gpu_seconds)
    shown = order[:queue_limit]
    names = _Names(session, user, set(shown) | {r.id for r in holders.values()})

    timeout = timedelta(seconds=settings.worker_timeout_seconds)
    workers = []
    for w in session.scalars(select(Worker).order_by(Worker.name)):
        slots = [
            SlotPublic(
                slot=str(i),
                holder=names.holder(holders[(w.id, str(i))]) if (w.id, str(i)) in holders else None,
            )
            for i in range(w.slots_total)
        ]
        workers.append(
            ClusterWorker(
                id=w.id,
                name=w.name,
                hostname=w.hostname,
                state=w.state,
                alive=is_alive(w, now, timeout),
                seconds_since_heartbeat=max(0.0, (now - w.last_heartbeat).total_seconds()),
                gpu_names=w.gpu_names,
                slots=slots,
            )
        )

    by_id = {r.id: r for r in snapshot.queued}
    queue = []
    for waiting in explain_queue(session, snapshot, now)[:queue_limit]:
        run = by_id[waiting.run_id]
        queue.append(_entry(run, waiting, names))

    return ClusterPublic(
        workers=workers,
        queue=queue,
        queue_total=len(order),
        users=_shares(snapshot, names),
        fair_share_window_seconds=settings.fair_share_window_seconds,
    )


def _entry(run: QueuedRun, waiting: Waiting, names: _Names) -> QueueEntry:
    visible = run.project in names.readable
    return QueueEntry(
        position=waiting.position,
        user_position=waiting.user_position,
        run_id=run.id if visible else None,
        experiment_name=names.experiments.get(run.id) if visible else None,
        owner=names.emails.get(run.user) if visible else None,
        project=names.projects.get(run.project) if visible else None,
        priority=run.priority,
        slots=run.total_slots,
        nodes=run.nodes,
        queued_at=run.queued_at,
        reason=waiting.reason,
        note=waiting.note,
        wait_seconds=waiting.wait_seconds,
    )


def queue_entry(session: Session, user: User, run_id: str) -> QueueEntry:
    """Where one queued run stands (404 for a run you cannot see; 409 when not queued)."""
    run = get_readable_run(session, user, run_id)
    if run.state != "queued":
        raise Conflict(f"run {run.id} is {run.state}, not queued")
    now = utcnow()
    snapshot = take_snapshot(session, SchedulerSettings(), now)
    waiting = {w.run_id: w for w in explain_queue(session, snapshot, now)}
    queued = {r.id: r for r in snapshot.queued}
    if run.id not in waiting:
        raise Conflict(f"run {run.id} is held back from the queue")
    names = _Names(session, user, {run.id})
    return _entry(queued[run.id], waiting[run.id], names)


def _shares(snapshot: Snapshot, names: _Names) -> list[UserShare]:
    seconds: dict[str, float] = defaultdict(float)
    slots: dict[str, int] = defaultdict(int)
    quota: dict[str, int | None] = {}
    user_ids = set(snapshot.recent_gpu_seconds) | set(snapshot.user_usage)
    for uid in user_ids:
        label = names.emails.get(uid, OTHER_TEAMS)
        seconds[label] += snapshot.recent_gpu_seconds.get(uid, 0.0)
        slots[label] += snapshot.user_usage.get(uid, 0)
        quota[label] = None if label == OTHER_TEAMS else snapshot.quotas.per_user.get(uid)
    total = sum(seconds.values())
    return sorted(
        (
            UserShare(
                user=label,
                recent_gpu_seconds=seconds[label],
                share=seconds[label] / total if total > 0 else 0.0,
                slots_in_use=slots[label],
                quota=quota[label],
            )
            for label in seconds
        ),
        key=lambda s: (-s.recent_gpu_seconds, s.user),
    )
