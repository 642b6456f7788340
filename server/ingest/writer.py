"""Writes one batch of validated events to SQL in a single transaction, idempotently.

Redelivered events change nothing: a metric step keeps the point of the greatest (attempt,
seq) that wrote it (metric_store.py), log lines are skipped when their event is already stored,
and state events go through `apply_state_event`, which ignores repeats and stale attempts.
The batch first locks the usage rows of its runs (run_limits.py), so several ingesters can run
at once: they take turns per run, and every run's rollups and summaries stay exact.

Events are attributed, not trusted: one is stored only if its fence names that run's attempt
and its worker holds a node of that attempt (the scheduler recorded both in SQL). A superseded
attempt's logs and metrics still count (they were written while it ran, and the newer attempt's
points win), but only the current attempt changes the run's state.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas.events import (
    AnyEvent,
    CheckpointEvent,
    LogEvent,
    StateEvent,
)
from server.attempts.models import AttemptNode, RunAttempt
from server.ingest.log_store import (
    EVENT_SIZE_SEQ,
    KEY_LIMIT_SEQ,
    Line,
    lines_of,
    system_line,
    write_lines,
)
from server.ingest.metric_rows import MetricRows, metric_rows
from server.ingest.metric_store import MetricsWritten, write_metrics
from server.ingest.run_limits import RunLimits, Usage, lock_usage, save_usage
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


@dataclass(frozen=True)
class Oversized:
    """An event refused for its size before it was read: its run (when it could be told) and
    its size, so the run's log can say why something is missing."""

    run_id: str | None
    size: int


def write_batch(
    session: Session,
    events: Sequence[AnyEvent],
    prepared: MetricRows | None = None,
    limits: RunLimits | None = None,
    oversized: list[Oversized] | None = None,
) -> BatchResult:
    """Stores `events` and commits. Raises (and stores nothing) if the database fails.
    `prepared` is `metric_rows(events)` when the caller built it already."""
    limits = limits or RunLimits()
    oversized = oversized or []
    result = BatchResult()
    named = {e.run_id for e in events} | {o.run_id for o in oversized if o.run_id}
    known = _existing_runs(session, named)
    holders = _attempt_holders(session, {e.fence for e in events})
    kept: list[AnyEvent] = []
    for index, event in enumerate(events):
        if event.run_id not in known:
            result.unknown_run.append(index)
        elif (refusal := _refusal(event, holders)) is not None:
            result.refused.append((index, refusal))
        else:
            kept.append(event)
    conn = session.connection()
    usage = lock_usage(conn, known)
    if prepared is None:
        prepared = metric_rows(kept)
    elif result.unknown_run or result.refused:
        prepared = metric_rows(kept)  # without the points of events not stored
    metrics = write_metrics(conn, prepared, limits.max_metric_keys)
    result.points = metrics.points
    lines = lines_of([e for e in kept if isinstance(e, LogEvent)])
    lines += _limit_notices(metrics, oversized, usage, limits)
    result.lines = write_lines(conn, lines, usage, limits.max_log_bytes)
    save_usage(conn, usage.values())
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
    result.runs |= {o.run_id for o in oversized if o.run_id in known}
    session.commit()
    return result


def _existing_runs(session: Session, run_ids: set[str] | set[str | None]) -> set[str]:
    wanted = {r for r in run_ids if r}
    if not wanted:
        return set()
    return set(session.scalars(select(Run.id).where(Run.id.in_(wanted))))


def _limit_notices(
    metrics: MetricsWritten,
    oversized: list[Oversized],
    usage: dict[str, Usage],
    limits: RunLimits,
) -> list[Line]:
    """System lines for the run logs about what a limit kept out, and the usage counts."""
    notices = []
    for run_id, (points, keys) in metrics.refused.items():
        if usage[run_id].metric_points_refused == 0:  # said once; the count goes on below
            shown = ", ".join(repr(k) for k in keys[:5]) + (", ..." if len(keys) > 5 else "")
            notices.append(
                system_line(
                    run_id,
                    KEY_LIMIT_SEQ,
                    0,
                    f"[runyard] this run has reached its limit of {limits.max_metric_keys:,}"
                    f" metric keys (RUNYARD_MAX_METRIC_KEYS_PER_RUN): points of further keys"
                    f" are not stored ({shown}); GET /api/v1/runs/{run_id}/summary counts them",
                )
            )
        usage[run_id].metric_points_refused += points
    for event in oversized:
        if event.run_id is None or event.run_id not in usage:
            continue
        run_usage = usage[event.run_id]
        run_usage.events_refused += 1
        notices.append(
            system_line(
                event.run_id,
                EVENT_SIZE_SEQ,
                run_usage.events_refused,
                f"[runyard] an event of {event.size:,} bytes was refused: events are limited to"
                f" {limits.max_event_bytes:,} bytes (RUNYARD_MAX_EVENT_BYTES)",
            )
        )
    return notices


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


def _refusal(event: AnyEvent, holders: dict[int, tuple[str, int, frozenset[str]]]) -> str | None:
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
