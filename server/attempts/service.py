"""Opening and ending attempts, holding and releasing slots, and what workers report.

The rules that keep a slot from being used twice:
- a node's slots are held from its placement until `released_at` is set;
- a node is released only when its worker confirms the node's processes are gone (a terminal
  state event from it, a report that gives the node up, or a heartbeat taken after the attempt
  ended that no longer lists it), or when the scheduler declares the worker dead, which it
  does only after the worker's lease has lapsed (and the sandbox has torn the run down).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas import RunState, WorkerReport
from server.attempts.models import AttemptNode, RunAttempt
from server.errors import Conflict, Forbidden, NotFound
from server.runs.models import Run

ACTIVE_STATES = (RunState.scheduled.value, RunState.running.value)


def open_attempt(
    session: Session, run: Run, nodes: Sequence[tuple[str, Sequence[str]]], now: datetime
) -> RunAttempt:
    """Records the run's current attempt and where each node runs; flushes to get the fence."""
    attempt = RunAttempt(run_id=run.id, attempt=run.attempt, created_at=now)
    session.add(attempt)
    session.flush()
    for rank, (worker, slots) in enumerate(nodes):
        session.add(
            AttemptNode(
                fence=attempt.fence,
                node_rank=rank,
                worker_name=worker,
                slots=[str(s) for s in slots],
                dispatched_at=now,
            )
        )
    session.flush()
    return attempt


def current_attempt(session: Session, run: Run) -> RunAttempt | None:
    """The run's attempt that is still open (placed and not ended), if any."""
    return session.scalar(
        select(RunAttempt).where(
            RunAttempt.run_id == run.id,
            RunAttempt.attempt == run.attempt,
            RunAttempt.ended_at.is_(None),
        )
    )


def end_attempt(session: Session, run: Run, reason: str | None, now: datetime) -> None:
    """Ends the run's current attempt (it completed, failed, was canceled or superseded)."""
    attempt = current_attempt(session, run)
    if attempt is not None:
        attempt.ended_at = now
        attempt.end_reason = reason


def release(node: AttemptNode, reason: str, now: datetime) -> None:
    if node.released_at is None:
        node.released_at = now
        node.release_reason = reason[:500]


def nodes_of(session: Session, fences: Iterable[int]) -> dict[int, list[AttemptNode]]:
    wanted = sorted(set(fences))
    found: dict[int, list[AttemptNode]] = defaultdict(list)
    if wanted:
        for node in session.scalars(
            select(AttemptNode)
            .where(AttemptNode.fence.in_(wanted))
            .order_by(AttemptNode.fence, AttemptNode.node_rank)
        ):
            found[node.fence].append(node)
    return found


def holding_nodes(session: Session, worker: str | None = None) -> list[AttemptNode]:
    """Nodes whose slots are still held (on one worker, or everywhere)."""
    query = select(AttemptNode).where(AttemptNode.released_at.is_(None))
    if worker is not None:
        query = query.where(AttemptNode.worker_name == worker)
    return list(session.scalars(query))


def held_slots(session: Session) -> dict[str, set[str]]:
    """Worker name -> the slots held on it."""
    held: dict[str, set[str]] = defaultdict(set)
    for node in holding_nodes(session):
        held[node.worker_name].update(node.slots)
    return held


def accept(
    session: Session, fence: int, node_rank: int, worker: str, incarnation: str, now: datetime
) -> RunAttempt:
    """A worker takes a node of an attempt before starting it. Refused once the attempt has
    ended, which is what lets a node that was never accepted be released at once."""
    attempt = session.get(RunAttempt, fence, with_for_update=True, populate_existing=True)
    if attempt is None:
        raise NotFound(f"no attempt with fence {fence}")
    node = session.get(AttemptNode, (fence, node_rank), with_for_update=True)
    if node is None or node.worker_name != worker:
        raise Forbidden(f"node {node_rank} of fence {fence} is not placed on worker {worker!r}")
    if attempt.ended_at is not None or node.released_at is not None:
        raise Conflict(
            f"attempt {attempt.attempt} of run {attempt.run_id} has ended"
            + (f" ({attempt.end_reason})" if attempt.end_reason else "")
            + "; do not start it"
        )
    node.seen_at = node.seen_at or now
    node.seen_incarnation = incarnation
    return attempt


def release_confirmed_by_worker(
    session: Session, fence: int, worker: str, reason: str, now: datetime
) -> None:
    """The worker says the attempt's processes on it are gone (its terminal state event)."""
    for node in nodes_of(session, [fence]).get(fence, []):
        if node.worker_name == worker:
            release(node, reason, now)


@dataclass
class ReportOutcome:
    ended: list[int] = field(default_factory=list)
    """Fences the worker mentioned whose attempt has ended: stop them, stop reporting them."""
    cancel: list[int] = field(default_factory=list)
    """Fences it holds whose run's owner asked to cancel."""
    preempt: dict[int, str] = field(default_factory=dict)
    """Fences it holds that the scheduler asks to checkpoint and stop, with the reason."""


def record_report(
    session: Session,
    worker: str,
    report: WorkerReport,
    now: datetime,
    *,
    since: datetime | None = None,
) -> ReportOutcome:
    """Applies what a worker reports about its attempts (the caller commits).

    `since`: the report was taken after this server time (the worker echoes the time of the
    heartbeat answer it received before taking it). A node the worker accepted before then
    and does not list has stopped there: its slots are released (and, if its attempt is still
    open, the worker lost it). Without it (reports read from Redis) nothing is released by
    absence.
    """
    held = {a.fence for a in report.attempts}
    lost = {a.fence for a in report.lost}
    nodes = nodes_of(session, held | lost)
    attempts = {
        a.fence: a
        for a in session.scalars(select(RunAttempt).where(RunAttempt.fence.in_(held | lost)))
    }
    outcome = ReportOutcome()
    for fence, fence_nodes in nodes.items():
        for node in fence_nodes:
            if node.worker_name != worker:
                continue
            if fence in held:
                node.seen_at = node.seen_at or now
                node.seen_incarnation = report.incarnation
            if fence in lost and node.lost_at is None:
                node.lost_at = now
                # A node is given up only once its processes are gone.
                release(node, "its worker gave it up", now)
    for fence in sorted(held | lost):
        attempt = attempts.get(fence)
        if attempt is None or attempt.ended_at is not None:
            outcome.ended.append(fence)
    if since is not None:
        # Listed from before its acceptance until its processes are gone: a node accepted
        # before this report was taken and missing from it has stopped here.
        for node in holding_nodes(session, worker):
            if node.fence in held or node.seen_at is None or node.seen_at >= since:
                continue
            release(node, "its worker confirmed it stopped", now)
            attempt = session.get(RunAttempt, node.fence)
            if attempt is not None and attempt.ended_at is None:
                node.lost_at = node.lost_at or now
    open_held = [attempts[f] for f in held if f in attempts and attempts[f].ended_at is None]
    if open_held:
        runs = {
            run.id: run
            for run in session.scalars(select(Run).where(Run.id.in_([a.run_id for a in open_held])))
        }
        for attempt in open_held:
            run = runs.get(attempt.run_id)
            if run is None:
                continue
            if run.cancel_requested_at is not None:
                outcome.cancel.append(attempt.fence)
            elif run.preempt_requested_at is not None:
                outcome.preempt[attempt.fence] = run.preempt_reason or "preempted"
        outcome.cancel.sort()
    return outcome
