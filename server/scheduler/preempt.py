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
from server.scheduler.placement import Decision, NodePlacement
from server.scheduler.preemption import (
    Preemption,
    PreemptionPolicy,
    RunningRun,
    blocked_runs,
    plan_preemptions,
)
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
    blocked = blocked_runs(
        snapshot.queued,
        decision,
        quotas=snapshot.quotas,
        user_usage=snapshot.user_usage,
        project_usage=snapshot.project_usage,
        recent_gpu_seconds=snapshot.recent_gpu_seconds,
    )
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
