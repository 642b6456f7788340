"""The cluster view: a read-only picture of what the scheduler sees.

Scheduling order and the would-start-now decision come from the scheduler's own pure
functions (`server.scheduler.placement.decide`) over the same snapshot the leader reads, so
the page shows the order the scheduler really uses rather than a second guess at it.
"""

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.attempts.models import RunAttempt
from server.attempts.service import holding_nodes
from server.cluster.schemas import (
    ClusterPublic,
    ClusterWorker,
    QueueEntry,
    QueueStatus,
    SlotHolder,
    SlotPublic,
    UserShare,
)
from server.db import utcnow
from server.experiments.models import Experiment
from server.projects.models import Project, ProjectMember
from server.projects.service import readable_project_ids
from server.runs.models import Run
from server.scheduler.placement import Decision, QueuedRun, decide, scheduling_order
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import Snapshot, is_alive, take_snapshot
from server.users.models import User
from server.workers.models import Worker

OTHER_TEAMS = "other teams"


def _status(run: QueuedRun, decision: Decision, snapshot: Snapshot) -> tuple[QueueStatus, str]:
    if run.id in decision.unplaceable:
        return "unplaceable", decision.unplaceable[run.id]
    if any(a.run_id == run.id for a in decision.assignments):
        return "starting", "slots are free: the scheduler starts it on its next tick"
    if run.id in decision.reserved:
        held = ", ".join(decision.reserved[run.id])
        return "reserved", f"holding {held} until enough slots drain"
    need = run.total_slots
    user_cap = snapshot.quotas.per_user.get(run.user)
    if user_cap is not None and snapshot.user_usage.get(run.user, 0) + need > user_cap:
        return "over_quota", f"its owner's quota is {user_cap} slot(s)"
    project_cap = snapshot.quotas.per_project.get(run.project)
    if project_cap is not None and snapshot.project_usage.get(run.project, 0) + need > project_cap:
        return "over_quota", f"its project's quota is {project_cap} slot(s)"
    return "waiting", "waiting for free slots"


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

    decision = decide(
        snapshot.queued,
        snapshot.workers,
        quotas=snapshot.quotas,
        user_usage=snapshot.user_usage,
        project_usage=snapshot.project_usage,
        recent_gpu_seconds=snapshot.recent_gpu_seconds,
    )
    by_id = {r.id: r for r in snapshot.queued}
    queue = []
    for position, run_id in enumerate(shown, start=1):
        run = by_id[run_id]
        status, note = _status(run, decision, snapshot)
        visible = run.project in names.readable
        queue.append(
            QueueEntry(
                position=position,
                run_id=run.id if visible else None,
                experiment_name=names.experiments.get(run.id) if visible else None,
                owner=names.emails.get(run.user) if visible else None,
                project=names.projects.get(run.project) if visible else None,
                priority=run.priority,
                slots=run.total_slots,
                nodes=run.nodes,
                queued_at=run.queued_at,
                status=status,
                note=note,
            )
        )

    return ClusterPublic(
        workers=workers,
        queue=queue,
        queue_total=len(order),
        users=_shares(snapshot, names),
        fair_share_window_seconds=settings.fair_share_window_seconds,
    )


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
