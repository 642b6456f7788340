"""Writes one batch of validated events to SQL in a single transaction, idempotently.

Redelivered events change nothing: metric points are upserted on (series, step) with the newer
attempt winning, log lines are skipped when (run, attempt, seq, line_no) is already stored, and
state events go through `apply_state_event`, which ignores repeats and stale attempts.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from runyard.schemas.events import (
    CheckpointEvent,
    Event,
    LogEvent,
    MetricPoint,
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
    keys = {(e.run_id, p.key) for e in events for p in e.points}
    if not keys:
        return 0
    series = _series_ids(conn, keys)
    # One row per (series, step): PostgreSQL refuses to update a row twice in one statement,
    # and within a batch the event from the newest (attempt, seq) is the one that counts, so
    # events are applied oldest first and later ones overwrite.
    latest: dict[tuple[int, int], tuple[MetricPoint, int, int]] = {}
    for event in sorted(events, key=lambda e: (e.attempt, e.seq)):
        a, q, run_id = event.attempt, event.seq, event.run_id
        sid_of = {key: sid for (rid, key), sid in series.items() if rid == run_id}
        latest.update({(sid_of[p.key], p.step): (p, a, q) for p in event.points})
    # NaN is stored as NULL (v != v only for NaN): SQLite cannot store NaN at all.
    rows = [
        (sid, step, p.epoch, None if p.value != p.value else p.value, p.wall_time, a, q)
        for (sid, step), (p, a, q) in latest.items()
    ]
    upsert_points(conn, rows)
    if conn.dialect.name != "postgresql":  # PostgreSQL refreshed them in upsert_points
        written: dict[int, list[Point]] = defaultdict(list)
        for sid, step, epoch, value, wall, _attempt, _seq in rows:
            written[sid].append(Point(step, value, epoch, wall))
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
