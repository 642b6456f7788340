"""External runs whose client went silent: given up as failed, taken back when it returns.

A scheduled run fails when its worker dies; an external run has no worker, only its client
(a notebook, a laptop script), which may be killed without calling `finish()`. Its run would
then stay `running` for ever. The scheduler's leader therefore fails external runs not heard
from for a while, counting only time in which the server was up to hear them (a server
outage is the server's silence, not the client's). A client is not always dead when silent
(a laptop asleep, a spool sent after a crash): anything it sends later is stored, and makes
the run running again, so giving a run up loses nothing.
"""

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from runyard.schemas.tracking import RunKind
from server.runs.models import Run, RunTransition
from server.runs.service import transition


def abandonment_reason(silence: timedelta) -> str:
    minutes = max(1, round(silence.total_seconds() / 60))
    return (
        f"abandoned: its client was not heard from for {minutes} min (the process ended "
        "without finish(), or lost the server); anything it sends later is still stored and "
        "makes the run running again"
    )


def give_up_silent_runs(session: Session, now: datetime, silence: timedelta) -> list[str]:
    """Fails the running external runs last heard before `now - silence` (the caller has
    established that the server could hear them all that time); returns their ids. The
    caller commits."""
    cutoff = now - silence
    silent = session.scalars(
        select(Run)
        .where(
            Run.kind == RunKind.external.value,
            Run.state == RunState.running.value,
            or_(
                Run.last_contact_at < cutoff,
                Run.last_contact_at.is_(None) & (Run.started_at < cutoff),
            ),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for run in silent:
        transition(session, run, RunState.failed, abandonment_reason(silence), now)
        run.abandoned_at = now
    return [run.id for run in silent]


def hear_from(session: Session, run: Run, now: datetime) -> None:
    """The (locked) run's client was heard: records it, and takes back a run given up as
    abandoned (failed -> running, keeping when it first started). The caller commits."""
    run.last_contact_at = now
    if run.abandoned_at is None or run.state != RunState.failed.value:
        return
    session.add(
        RunTransition(
            run_id=run.id,
            from_state=run.state,
            to_state=RunState.running.value,
            attempt=run.attempt,
            reason="its client was heard again after it had been given up as abandoned",
            at=now,
        )
    )
    run.state = RunState.running.value
    run.abandoned_at = None
    run.finished_at = None
    run.exit_reason = None
