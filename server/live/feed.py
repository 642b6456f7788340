"""What a run has stored since a cursor: log lines, metric points, state transitions."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from runyard.schemas.states import TERMINAL_STATES, RunState
from server.live.cursor import Cursor
from server.logs.models import LogLine
from server.metrics.blocks import decode_block
from server.metrics.columns import PointColumns
from server.metrics.models import MetricBlock, MetricSeries
from server.metrics.schemas import public_value
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
    """Points written by events after the cursor's (attempt, seq), whole events at a time (at
    most MAX_METRIC_EVENTS): the cursor is an (attempt, seq), so a message must never end half
    way through one event's points. A block's (last_attempt, last_seq) is the newest event
    among its points, so only blocks past the cursor are read."""
    b, s = MetricBlock, MetricSeries
    newer = or_(
        b.last_attempt > cursor.metric_attempt,
        and_(b.last_attempt == cursor.metric_attempt, b.last_seq > cursor.metric_seq),
    )
    rows = session.execute(
        select(s.key, b.first_step, b.data)
        .join(s, s.id == b.series_id)
        .where(s.run_id == run_id, newer)
    ).all()
    if not rows:
        return cursor
    found: list[tuple[str, PointColumns]] = []
    for key, first_step, data in rows:
        points = decode_block(data, first_step)
        mask = (points.attempt > cursor.metric_attempt) | (
            (points.attempt == cursor.metric_attempt) & (points.seq > cursor.metric_seq)
        )
        if mask.any():
            found.append((key, points.take(mask)))
    if not found:
        return cursor
    events = sorted(
        {
            (a, q)
            for _, points in found
            for a, q in zip(points.attempt.tolist(), points.seq.tolist(), strict=True)
        }
    )
    upto = events[:MAX_METRIC_EVENTS][-1]
    sent: list[tuple[int, int, str, int, dict[str, Any]]] = []
    for key, points in found:
        for step, value, epoch, wall, attempt, seq in zip(
            points.step.tolist(),
            points.value.tolist(),
            points.epoch.tolist(),
            points.wall_time.tolist(),
            points.attempt.tolist(),
            points.seq.tolist(),
            strict=True,
        ):
            if (attempt, seq) <= upto:
                point = {
                    "key": key,
                    "step": step,
                    "epoch": None if epoch < 0 else epoch,
                    "value": public_value(value),
                    "wall_time": wall,
                    "attempt": attempt,
                }
                sent.append((attempt, seq, key, step, point))
    sent.sort(key=lambda row: row[:4])
    cursor = Cursor(cursor.log_id, upto[0], upto[1], cursor.transitions)
    update.messages.append(Message("metrics", {"points": [row[4] for row in sent]}, cursor))
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
    b, s = MetricBlock, MetricSeries
    log_id = session.scalar(select(func.max(LogLine.id)).where(LogLine.run_id == run_id)) or 0
    of_run = select(s.id).where(s.run_id == run_id).scalar_subquery()
    last_metric = session.execute(
        select(b.last_attempt.label("attempt"), b.last_seq.label("seq"))
        .where(b.series_id.in_(of_run))
        .order_by(b.last_attempt.desc(), b.last_seq.desc())
        .limit(1)
    ).first()
    transitions = session.scalar(
        select(func.count()).select_from(RunTransition).where(RunTransition.run_id == run_id)
    )
    attempt, seq = (last_metric.attempt, last_metric.seq) if last_metric else (0, -1)
    return Cursor(log_id, attempt, seq, transitions or 0)
