"""Asking running runs to make room: the SQL side of `preemption.plan_preemptions`.

Reads what the policy needs (the queued runs `decide` could not place, the running attempts
with their nodes, runtimes and last checkpoints, the preemptions of the last hour), and marks
each chosen victim: `preempt_requested_at` and the reason. The victim's worker learns it from
the assignment record or its heartbeat's answer, asks the run to checkpoint at its next step
and stop, uploads the checkpoint, and reports the attempt back to the queue; its slots are
free once its processes are gone, as for any attempt.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas import ExperimentSpec
from server.artifacts.models import Checkpoint
from server.attempts.models import AttemptNode, RunAttempt
from server.runs.models import Run, RunTransition
from server.scheduler.placement import Decision, NodePlacement, QueuedRun, scheduling_order
from server.scheduler.preemption import Preemption, PreemptionPolicy, RunningRun, plan_preemptions
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import Snapshot

PREEMPTED = "preempted for "
"""How the reason of every preemption starts (the transition back to the queue keeps it)."""


def _running(session: Session, now: datetime) -> list[RunningRun]:
    attempts = session.execute(
        select(RunAttempt, Run)
        .join(Run, Run.id == RunAttempt.run_id)
        .where(RunAttempt.ended_at.is_(None), Run.state == "running")
    ).all()
    if not attempts:
        return []
    last_checkpoint = dict(
        session.execute(
            select(Checkpoint.run_id, func.max(Checkpoint.created_at))
            .where(Checkpoint.run_id.in_([run.id for _, run in attempts]))
            .group_by(Checkpoint.run_id)
        ).all()
    )
    running = []
    for attempt, run in attempts:
        nodes = list(
            session.scalars(
                select(AttemptNode)
                .where(AttemptNode.fence == attempt.fence)
                .order_by(AttemptNode.node_rank)
            )
        )
        started = min((n.seen_at for n in nodes if n.seen_at), default=attempt.created_at)
        since = max(started, last_checkpoint.get(run.id) or started)
        running.append(
            RunningRun(
                id=run.id,
                user=run.owner_id,
                priority=run.priority,
                nodes=tuple(NodePlacement(n.worker_name, tuple(n.slots)) for n in nodes),
                running_seconds=(now - started).total_seconds(),
                seconds_since_checkpoint=max((now - since).total_seconds(), 0.0),
                preemptible=ExperimentSpec.model_validate(run.spec).preemptible,
                preempting=run.preempt_requested_at is not None,
            )
        )
    return running


def _budget(session: Session, settings: SchedulerSettings, now: datetime) -> int:
    hour_ago = now - timedelta(hours=1)
    done = session.scalar(
        select(func.count())
        .select_from(RunTransition)
        .where(RunTransition.at >= hour_ago, RunTransition.reason.like(PREEMPTED + "%"))
    )
    pending = session.scalar(
        select(func.count()).select_from(Run).where(Run.preempt_requested_at.is_not(None))
    )
    return settings.preemption_max_per_hour - int(done or 0) - int(pending or 0)


def _blocked(snapshot: Snapshot, decision: Decision) -> list[QueuedRun]:
    """Queued runs `decide` left waiting for slots (not for a quota, not unplaceable)."""
    placed = {a.run_id for a in decision.assignments}
    by_id = {r.id: r for r in snapshot.queued}
    blocked = []
    for run_id in scheduling_order(snapshot.queued, snapshot.recent_gpu_seconds):
        run = by_id[run_id]
        if run_id in placed or run_id in decision.unplaceable:
            continue
        user_cap = snapshot.quotas.per_user.get(run.user)
        project_cap = snapshot.quotas.per_project.get(run.project)
        over = (
            user_cap is not None
            and snapshot.user_usage.get(run.user, 0) + run.total_slots > user_cap
        ) or (
            project_cap is not None
            and snapshot.project_usage.get(run.project, 0) + run.total_slots > project_cap
        )
        if not over:
            blocked.append(run)
    return blocked


def request_preemptions(
    session: Session,
    snapshot: Snapshot,
    decision: Decision,
    settings: SchedulerSettings,
    now: datetime,
) -> list[Preemption]:
    """Chooses victims for the runs this decision could not place and marks them (the caller
    commits)."""
    if not settings.preemption:
        return []
    blocked = _blocked(snapshot, decision)
    if not blocked:
        return []
    policy = PreemptionPolicy(
        min_runtime_seconds=settings.preemption_min_runtime_seconds,
        budget=_budget(session, settings, now),
        fair_share=settings.preemption_fair_share,
    )
    chosen = plan_preemptions(blocked, snapshot.workers, _running(session, now), policy)
    for preemption in chosen:
        victim = session.get(Run, preemption.victim, with_for_update=True)
        if victim is not None and victim.preempt_requested_at is None:
            victim.preempt_requested_at = now
            victim.preempt_reason = preemption.reason[:500]
    return chosen
