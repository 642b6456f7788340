"""What a run has stored since a cursor: log lines, metric points, state transitions."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from runyard.schemas.states import TERMINAL_STATES, RunState
from server.live.cursor import Cursor
from server.logs.models import LogLine
from server.metrics.models import MetricPointRow, MetricSeries
from server.runs.models import Run, RunTransition

MAX_LINES = 1000
MAX_METRIC_EVENTS = 50


@dataclass
class Message:
    event: str
    data: dict[str, Any]
    cursor: Cursor


@dataclass
class Update:
    messages: list[Message] = field(default_factory=list)
    terminal: bool = False
    """The run has finished; with no messages, the stream can end."""


def since(session: Session, run_id: str, cursor: Cursor) -> Update:
    update = Update()
    # Read the state first: anything stored before the run turned terminal is then already
    # visible to the queries below, so "terminal and nothing new" really means drained.
    run = session.get(Run, run_id)
    update.terminal = run is None or RunState(run.state) in TERMINAL_STATES
    cursor = _logs(session, run_id, cursor, update)
    cursor = _metrics(session, run_id, cursor, update)
    _transitions(session, run_id, cursor, update)
    return update


def _logs(session: Session, run_id: str, cursor: Cursor, update: Update) -> Cursor:
    lines = list(
        session.scalars(
            select(LogLine)
            .where(LogLine.run_id == run_id, LogLine.id > cursor.log_id)
            .order_by(LogLine.id)
            .limit(MAX_LINES)
        )
    )
    if not lines:
        return cursor
    cursor = Cursor(lines[-1].id, cursor.metric_attempt, cursor.metric_seq, cursor.transitions)
    data = {
        "lines": [
            {
                "id": line.id,
                "attempt": line.attempt,
                "stream": line.stream,
                "text": line.text,
                "ts": line.ts.isoformat(),
            }
            for line in lines
        ]
    }
    update.messages.append(Message("log", data, cursor))
    return cursor


def _metrics(session: Session, run_id: str, cursor: Cursor, update: Update) -> Cursor:
    p, s = MetricPointRow, MetricSeries
    newer = or_(
        p.attempt > cursor.metric_attempt,
        and_(p.attempt == cursor.metric_attempt, p.seq > cursor.metric_seq),
    )
    of_run = select(s.id).where(s.run_id == run_id).scalar_subquery()
    # Whole events only: the cursor is an (attempt, seq), so a message must never end half way
    # through one event's points.
    groups = session.execute(
        select(p.attempt, p.seq)
        .where(p.series_id.in_(of_run), newer)
        .group_by(p.attempt, p.seq)
        .order_by(p.attempt, p.seq)
        .limit(MAX_METRIC_EVENTS)
    ).all()
    if not groups:
        return cursor
    upto = groups[-1]
    rows = session.execute(
        select(s.key, p.step, p.epoch, p.value, p.wall_time, p.attempt, p.seq)
        .join(s, s.id == p.series_id)
        .where(
            s.run_id == run_id,
            newer,
            tuple_(p.attempt, p.seq) <= tuple_(upto.attempt, upto.seq),
        )
        .order_by(p.attempt, p.seq, s.key, p.step)
    ).all()
    cursor = Cursor(cursor.log_id, upto.attempt, upto.seq, cursor.transitions)
    data = {
        "points": [
            {
                "key": r.key,
                "step": r.step,
                "epoch": r.epoch,
                "value": r.value if r.value is None or abs(r.value) != float("inf") else None,
                "wall_time": r.wall_time,
                "attempt": r.attempt,
            }
            for r in rows
        ]
    }
    update.messages.append(Message("metrics", data, cursor))
    return cursor


def _transitions(session: Session, run_id: str, cursor: Cursor, update: Update) -> Cursor:
    rows = list(
        session.scalars(
            select(RunTransition)
            .where(RunTransition.run_id == run_id)
            .order_by(RunTransition.at, RunTransition.id)
            .offset(cursor.transitions)
        )
    )
    for row in rows:
        cursor = Cursor(
            cursor.log_id, cursor.metric_attempt, cursor.metric_seq, cursor.transitions + 1
        )
        data = {
            "from_state": row.from_state,
            "to_state": row.to_state,
            "attempt": row.attempt,
            "reason": row.reason,
            "at": row.at.isoformat(),
        }
        update.messages.append(Message("state", data, cursor))
    return cursor


def current(session: Session, run_id: str) -> Cursor:
    """The cursor of everything stored so far: following from here sends only what is new
    (a dashboard that has just loaded the downsampled series starts here)."""
    p, s = MetricPointRow, MetricSeries
    log_id = session.scalar(select(func.max(LogLine.id)).where(LogLine.run_id == run_id)) or 0
    of_run = select(s.id).where(s.run_id == run_id).scalar_subquery()
    last_metric = session.execute(
        select(p.attempt, p.seq)
        .where(p.series_id.in_(of_run))
        .order_by(p.attempt.desc(), p.seq.desc())
        .limit(1)
    ).first()
    transitions = session.scalar(
        select(func.count()).select_from(RunTransition).where(RunTransition.run_id == run_id)
    )
    attempt, seq = (last_metric.attempt, last_metric.seq) if last_metric else (0, -1)
    return Cursor(log_id, attempt, seq, transitions or 0)
