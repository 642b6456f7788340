"""Writes one batch of validated events to SQL in a single transaction, idempotently.

Redelivered events change nothing: metric points are upserted on (series, step) with the newer
attempt winning, log lines are skipped when (run, attempt, seq, line_no) is already stored, and
state events go through `apply_state_event`, which ignores repeats and stale attempts.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from runyard.schemas.events import (
    CheckpointEvent,
    Event,
    LogEvent,
    MetricsEvent,
    StateEvent,
)
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


def write_batch(session: Session, events: list[Event]) -> BatchResult:
    """Stores `events` and commits. Raises (and stores nothing) if the database fails."""
    result = BatchResult()
    known = _existing_runs(session, {e.run_id for e in events})
    kept: list[Event] = []
    for index, event in enumerate(events):
        if event.run_id in known:
            kept.append(event)
        else:
            result.unknown_run.append(index)
    conn = session.connection()
    result.points = _write_metrics(conn, [e for e in kept if isinstance(e, MetricsEvent)])
    result.lines = _write_logs(conn, [e for e in kept if isinstance(e, LogEvent)])
    for event in kept:
        if isinstance(event, StateEvent) and apply_state_event(
            session, event.run_id, event.attempt, event.state, event.reason, event.traceback
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


def _write_metrics(conn: Connection, events: list[MetricsEvent]) -> int:
    if not events:
        return 0
    keys = {(e.run_id, key) for e in events for key in {p.key for p in e.points}}
    if not keys:
        return 0
    series = _series_ids(conn, keys)
    # Column lists rather than a tuple per point: a batch holds ~100k points, and each Python
    # object made per point is time the reader thread cannot spend validating the next batch.
    # Events go oldest (attempt, seq) first, so a later position holds the newer value.
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    sids, steps, epochs, values, walls, attempts, seqs = columns
    for event in sorted(events, key=lambda e: (e.attempt, e.seq)):
        points, n = event.points, len(event.points)
        event_keys = {p.key for p in points}
        if len(event_keys) == 1:
            sids.extend([series[(event.run_id, event_keys.pop())]] * n)
        else:
            sids.extend([series[(event.run_id, p.key)] for p in points])
        steps.extend([p.step for p in points])
        epochs.extend([p.epoch for p in points])
        # The event schema already turned NaN and infinities into None (stored as NULL).
        values.extend([p.value for p in points])
        walls.extend([p.wall_time for p in points])
        attempts.extend([event.attempt] * n)
        seqs.extend([event.seq] * n)
    # One row per (series, step): PostgreSQL refuses to update a row twice in one statement,
    # and the newest event's value is the one that counts (the last position of each pair).
    last_of = {pair: i for i, pair in enumerate(zip(sids, steps, strict=True))}
    if len(last_of) < len(steps):
        kept = sorted(last_of.values())
        columns = tuple([column[i] for i in kept] for column in columns)
    upsert_points(conn, columns)
    if conn.dialect.name != "postgresql":  # PostgreSQL refreshed them in upsert_points
        written: dict[int, list[Point]] = defaultdict(list)
        for sid, step, epoch, value, wall in zip(*columns[:5], strict=True):
            written[sid].append(Point(step, value, epoch, wall))
        refresh_rollups(conn, written)
    return len(columns[0])


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
