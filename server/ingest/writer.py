"""Writes one batch of validated events to SQL in a single transaction, idempotently.

Redelivered events change nothing: metric points are upserted on (series, step) with the newer
attempt winning, log lines are skipped when (run, attempt, seq, line_no) is already stored, and
state events go through `apply_state_event`, which ignores repeats and stale attempts.

Events are attributed, not trusted: one is stored only if its fence names that run's attempt
and its worker holds a node of that attempt (the scheduler recorded both in SQL). A superseded
attempt's logs and metrics still count (they were written while it ran, and the newer attempt's
points win), but only the current attempt changes the run's state.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from runyard.schemas.events import (
    CheckpointEvent,
    Event,
    LogEvent,
    StateEvent,
)
from server.attempts.models import AttemptNode, RunAttempt
from server.ingest.metric_rows import MetricRows, metric_rows
from server.ingest.points import insert_log_lines, upsert_points
from server.metrics.downsample import Point
from server.metrics.models import MetricSeries
from server.metrics.rollups import refresh_rollups
from server.runs.models import Run
from server.runs.service import apply_state_event


@dataclass
class BatchResult:
    """What a committed batch changed, per run: the live views are told about these runs."""

    points: int = 0
    lines: int = 0
    states: int = 0
    runs: set[str] = field(default_factory=set)
    unknown_run: list[int] = field(default_factory=list)
    """Indexes (into the batch) of events whose run does not exist: dead letters."""
    refused: list[tuple[int, str]] = field(default_factory=list)
    """(index, reason) of events not from the worker holding their attempt: dead letters."""


def write_batch(
    session: Session, events: list[Event], prepared: MetricRows | None = None
) -> BatchResult:
    """Stores `events` and commits. Raises (and stores nothing) if the database fails.
    `prepared` is `metric_rows(events)` when the caller built it already."""
    result = BatchResult()
    known = _existing_runs(session, {e.run_id for e in events})
    holders = _attempt_holders(session, {e.fence for e in events})
    kept: list[Event] = []
    for index, event in enumerate(events):
        if event.run_id not in known:
            result.unknown_run.append(index)
        elif (refusal := _refusal(event, holders)) is not None:
            result.refused.append((index, refusal))
        else:
            kept.append(event)
    conn = session.connection()
    if prepared is None or result.unknown_run or result.refused:
        prepared = metric_rows(kept)  # without the points of runs that do not exist
    result.points = _write_metrics(conn, prepared)
    result.lines = _write_logs(conn, [e for e in kept if isinstance(e, LogEvent)])
    for event in kept:
        if isinstance(event, StateEvent) and apply_state_event(
            session,
            event.run_id,
            event.attempt,
            event.state,
            event.reason,
            event.traceback,
            fence=event.fence,
            worker=event.worker,
        ):
            result.states += 1
    # CheckpointEvent is a notice: the checkpoint row was written by its upload.
    result.runs = {e.run_id for e in kept if not isinstance(e, CheckpointEvent)}
    session.commit()
    return result


def _existing_runs(session: Session, run_ids: set[str]) -> set[str]:
    if not run_ids:
        return set()
    return set(session.scalars(select(Run.id).where(Run.id.in_(run_ids))))


def _attempt_holders(
    session: Session, fences: set[int]
) -> dict[int, tuple[str, int, frozenset[str]]]:
    """fence -> (run id, attempt, workers holding a node of it)."""
    if not fences:
        return {}
    rows = session.execute(
        select(RunAttempt.fence, RunAttempt.run_id, RunAttempt.attempt, AttemptNode.worker_name)
        .join(AttemptNode, AttemptNode.fence == RunAttempt.fence)
        .where(RunAttempt.fence.in_(fences))
    )
    found: dict[int, tuple[str, int, set[str]]] = {}
    for fence, run_id, attempt, worker in rows:
        found.setdefault(fence, (run_id, attempt, set()))[2].add(worker)
    return {f: (r, a, frozenset(w)) for f, (r, a, w) in found.items()}


def _refusal(event: Event, holders: dict[int, tuple[str, int, frozenset[str]]]) -> str | None:
    holder = holders.get(event.fence)
    if holder is None or holder[0] != event.run_id or holder[1] != event.attempt:
        return (
            f"forged or misattributed: fence {event.fence} is not attempt {event.attempt} "
            f"of run {event.run_id}"
        )
    if event.worker not in holder[2]:
        return (
            f"forged or misattributed: worker {event.worker!r} does not hold attempt "
            f"{event.attempt} of run {event.run_id} (fence {event.fence})"
        )
    return None


def _series_ids(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    table = MetricSeries.__table__
    conn.execute(
        text(
            "INSERT INTO metric_series (run_id, key) VALUES (:run_id, :key) "
            "ON CONFLICT (run_id, key) DO NOTHING"
        ),
        [{"run_id": run_id, "key": key} for run_id, key in sorted(keys)],
    )
    run_ids = {run_id for run_id, _ in keys}
    rows = conn.execute(
        select(table.c.id, table.c.run_id, table.c.key).where(table.c.run_id.in_(run_ids))
    )
    return {(r.run_id, r.key): r.id for r in rows}


def _write_metrics(conn: Connection, rows: MetricRows) -> int:
    if not len(rows):
        return 0
    ids = _series_ids(conn, set(rows.series))
    series_ids = [ids[pair] for pair in rows.series]
    upsert_points(conn, rows, series_ids)
    if conn.dialect.name != "postgresql":  # PostgreSQL refreshed them in upsert_points
        written: dict[int, list[Point]] = defaultdict(list)
        for i, step, epoch, value, wall in zip(*rows.columns[:5], strict=True):
            written[series_ids[i]].append(Point(step, value, epoch, wall))
        refresh_rollups(conn, written)
    return len(rows)


def _write_logs(conn: Connection, events: list[LogEvent]) -> int:
    rows = [
        (e.run_id, e.attempt, e.seq, line_no, e.stream, _printable(line), e.ts)
        for e in events
        for line_no, line in enumerate(e.lines)
    ]
    insert_log_lines(conn, rows)
    return len(rows)


def _printable(line: str) -> str:
    # PostgreSQL text cannot hold NUL; a stray one from user output must not block the stream.
    return line.replace("\x00", "\ufffd")
