"""Run lifecycle: state transitions (each one recorded) and cancellation."""

import logging
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from runyard.schemas.states import TERMINAL_STATES, RunState, can_transition
from runyard.schemas.tasks import CancelNotice, cancel_channel
from server.artifacts.service import latest_checkpoint
from server.attempts.service import ACTIVE_STATES, end_attempt, release_confirmed_by_worker
from server.db import utcnow
from server.errors import Conflict, Forbidden
from server.projects.models import Role
from server.projects.service import require_role
from server.runs.models import Run, RunTag, RunTransition
from server.runs.repository import get_readable_run
from server.runs.schemas import RunPatch
from server.users.models import User

log = logging.getLogger(__name__)

_OFF_SLOTS = (RunState.queued, RunState.paused)
"""Non-terminal states a run holds no slots in: its attempt, if any, has ended."""


def transition(
    session: Session, run: Run, to_state: RunState, reason: str | None, at: datetime | None = None
) -> None:
    """Moves the run and records the transition (the caller has checked it is legal and
    commits)."""
    now = at or utcnow()
    if run.state in ACTIVE_STATES and (to_state in TERMINAL_STATES or to_state in _OFF_SLOTS):
        end_attempt(session, run, reason, now)
    session.add(
        RunTransition(
            run_id=run.id,
            from_state=run.state,
            to_state=to_state.value,
            attempt=run.attempt,
            reason=reason,
            at=now,
        )
    )
    run.state = to_state.value
    if to_state == RunState.running:
        run.started_at = now
    elif to_state == RunState.queued:
        run.queued_at = now
    elif to_state in TERMINAL_STATES:
        run.finished_at = now
        run.exit_reason = reason


def record_created(session: Session, run: Run, reason: str = "submitted") -> None:
    """The first transition of a new run (nothing -> queued, or paused for an ASHA trial)."""
    session.add(
        RunTransition(
            run_id=run.id,
            from_state=None,
            to_state=run.state,
            attempt=run.attempt,
            reason=reason,
            at=run.created_at,
        )
    )


def apply_state_event(
    session: Session,
    run_id: str,
    attempt: int,
    state: RunState,
    reason: str | None = None,
    traceback: str | None = None,
    *,
    fence: int | None = None,
    worker: str | None = None,
) -> bool:
    """Applies a worker's state event. Returns False (and changes nothing) for an unknown run,
    a stale attempt, a repeat of the current state or an illegal transition: events arrive at
    least once and possibly late. A terminal state from the worker of attempt `fence` also
    confirms that the attempt's processes there are gone, even for a superseded attempt, so
    its slots are released. The caller commits (the ingester batches many events)."""
    if (state in TERMINAL_STATES or state in _OFF_SLOTS) and fence is not None and worker:
        release_confirmed_by_worker(session, fence, worker, f"{worker} reported {state}", utcnow())
    # populate_existing: re-read the locked row even if this session has the run loaded already.
    run = session.get(Run, run_id, with_for_update=True, populate_existing=True)
    if run is None or attempt != run.attempt:
        return False
    current = RunState(run.state)
    if current == state or not can_transition(current, state):
        return False
    if state == RunState.paused and run.rung is None:
        return False  # only an ASHA trial pauses, at the end of its rung
    if state == RunState.queued:
        # The worker stopped the attempt at the scheduler's request, after uploading the
        # checkpoint it resumes from; only a requested preemption may send a run back.
        if run.preempt_requested_at is None:
            return False
        return requeue(session, run, reason or run.preempt_reason or "preempted")
    transition(session, run, state, reason)
    if traceback is not None:
        run.traceback = traceback
    return True


def requeue(session: Session, run: Run, reason: str) -> bool:
    """Puts a scheduled, running or paused run back in the queue as its next attempt (worker
    lost, preempted, or promoted by its ASHA search), to resume from its furthest checkpoint;
    the caller checks the restart limit and commits."""
    current = RunState(run.state)
    if not can_transition(current, RunState.queued):
        return False
    transition(session, run, RunState.queued, reason)
    run.attempt += 1
    run.worker_id = None
    run.devices = []
    run.cancel_requested_at = None
    run.preempt_requested_at = None
    run.preempt_reason = None
    latest = latest_checkpoint(session, run.id)
    if latest is not None:
        run.resume_checkpoint_id = latest.id
    return True


def cancel_run(session: Session, redis: Redis, prefix: str, user: User, run_id: str) -> Run:
    """Owner or project admin only. A queued, paused or scheduled run is canceled at once; a
    scheduled or running one also gets `cancel_requested_at` and a notice on the cancel
    channel, published after the commit so a worker never acts on a cancel that was rolled
    back."""
    run = get_readable_run(session, user, run_id)
    role = require_role(session, user, run.project_id, Role.member)
    if run.owner_id != user.id and role != Role.admin:
        raise Forbidden("only the run's owner or a project admin may cancel it")
    locked = session.scalar(
        select(Run)
        .where(Run.id == run.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    run = locked
    current = RunState(run.state)
    if current in TERMINAL_STATES:
        raise Conflict(f"the run is {current.value} already; there is nothing to cancel")
    notify = current in (RunState.scheduled, RunState.running)
    if notify and run.cancel_requested_at is None:
        run.cancel_requested_at = utcnow()
    if current in (RunState.queued, RunState.scheduled, RunState.paused):
        transition(session, run, RunState.canceled, f"canceled by {user.email}")
    session.commit()
    if notify:
        try:
            notice = CancelNotice(
                run_id=run.id, attempt=run.attempt, reason=f"canceled by {user.email}"
            )
            redis.publish(cancel_channel(prefix), notice.model_dump_json())
        except RedisError:
            # The database holds the request; workers also see it through the run's state.
            log.warning("could not publish the cancel notice of run %s", run.id, exc_info=True)
    return run


def update_run(session: Session, user: User, run_id: str, patch: RunPatch) -> Run:
    """Tags and notes: any member of the run's project (viewers may only read)."""
    run = get_readable_run(session, user, run_id)
    require_role(session, user, run.project_id, Role.member)
    if patch.tags is not None:
        session.execute(delete(RunTag).where(RunTag.run_id == run.id))
        session.add_all(RunTag(run_id=run.id, tag=tag) for tag in patch.tags)
    if patch.notes is not None:
        run.notes = patch.notes
    session.commit()
    return run
