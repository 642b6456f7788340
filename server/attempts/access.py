"""What a worker or run token may reach: only the runs whose current attempt it holds.

A run token is issued for one attempt and works only while that attempt is the run's open
attempt; a worker token reaches a run only while one of the current attempt's nodes is placed
on that worker. Anything from an ended or superseded attempt is a 409 that says which attempt
took over, so a stale worker stops instead of retrying.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.attempts.models import AttemptNode, RunAttempt
from server.attempts.service import current_attempt
from server.errors import Conflict, Forbidden, NotFound
from server.principals import Principal
from server.runs.models import Run
from server.runs.repository import RUN_NOT_FOUND


def _ended(run: Run, attempt: RunAttempt) -> str:
    why = f" ({attempt.end_reason})" if attempt.end_reason else ""
    if attempt.attempt < run.attempt:
        return f"attempt {attempt.attempt} of run {run.id} was superseded by attempt {run.attempt}{why}"
    return f"attempt {attempt.attempt} of run {run.id} has ended: the run is {run.state}{why}"


def require_attempt(
    session: Session, principal: Principal, run_id: str, *, fence: int | None = None
) -> Run:
    """The run, if the caller holds its current attempt (and `fence` names that attempt)."""
    if principal.kind not in ("worker", "run"):
        raise Forbidden("this route is for workers; use a worker or run-scoped token")
    principal.require_run(run_id)
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(RUN_NOT_FOUND)
    attempt = current_attempt(session, run)
    if principal.kind == "run":
        own = session.get(RunAttempt, principal.fence) if principal.fence else None
        if own is None or own.run_id != run.id:
            raise Forbidden("this run token names no attempt of this run; use the run's own token")
        if attempt is None or own.fence != attempt.fence:
            raise Conflict(
                f"this run token expired with its attempt: {_ended(run, own)}; "
                "a run token works only while its attempt runs"
            )
    else:
        if attempt is None:
            raise Conflict(f"run {run.id} has no attempt running (it is {run.state})")
        held = session.scalar(
            select(AttemptNode).where(
                AttemptNode.fence == attempt.fence,
                AttemptNode.worker_name == principal.worker_name,
                AttemptNode.released_at.is_(None),
            )
        )
        if held is None:
            raise Forbidden(
                f"worker {principal.worker_name!r} does not hold run {run.id}; a worker token "
                "reaches only the runs currently assigned to its worker"
            )
    if fence is not None and attempt is not None and fence != attempt.fence:
        stale = session.get(RunAttempt, fence)
        if stale is None or stale.run_id != run.id:
            raise Conflict(f"fence {fence} is not an attempt of run {run.id}")
        raise Conflict(f"{_ended(run, stale)}; its uploads are refused")
    return run
