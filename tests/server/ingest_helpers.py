"""Helpers shared by the ingester tests: publish events, drive an ingester, read the store."""

from datetime import UTC, datetime
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from runyard.schemas.events import AnyEvent, Event, LogEvent, MetricPoint, MetricsEvent
from runyard.schemas.streams import EVENT_FIELD, INGEST_GROUP, events_stream
from server.attempts.models import AttemptNode, RunAttempt
from server.ingest.consumer import Ingester
from server.metrics.models import MetricSeries
from server.metrics.repository import whole_series_points
from server.runs.models import Run


def publish(redis: Redis, prefix: str, *events: Event) -> None:
    for event in events:
        redis.xadd(events_stream(prefix), {EVENT_FIELD: event.model_dump_json()})


WORKER = "worker-1"


def attributed(run: Run, attempt: int = 1) -> dict[str, Any]:
    """The envelope fields of an event of `run`'s `attempt` written by the worker holding it,
    as the ingester requires; records the attempt (placed on WORKER) if the test has not."""
    session = object_session(run)
    assert session is not None, "pass a Run that belongs to a session"
    found = session.scalar(
        select(RunAttempt).where(RunAttempt.run_id == run.id, RunAttempt.attempt == attempt)
    )
    if found is None:
        found = RunAttempt(run_id=run.id, attempt=attempt, created_at=datetime.now(UTC))
        session.add(found)
        session.flush()
        session.add(AttemptNode(fence=found.fence, node_rank=0, worker_name=WORKER, slots=["0"]))
        session.commit()
    return {"run_id": run.id, "attempt": attempt, "fence": found.fence, "worker": WORKER}


def metrics_event(
    run: Run, seq: int, steps: range, key: str = "loss", attempt: int = 1, offset: float = 0
) -> MetricsEvent:
    return MetricsEvent(
        **attributed(run, attempt),
        seq=seq,
        ts=datetime.now(UTC),
        points=[
            MetricPoint(key=key, step=s, epoch=s // 100, value=s + offset, wall_time=1e9 + s)
            for s in steps
        ],
    )


def log_event(run: Run, seq: int, lines: list[str], attempt: int = 1) -> LogEvent:
    return LogEvent(**attributed(run, attempt), seq=seq, ts=datetime.now(UTC), lines=lines)


def drain(ingester: Ingester) -> None:
    """Steps the ingester until the stream has nothing new and nothing pending."""
    ingester.ensure_group()
    while True:
        ingester.step()
        pending = ingester.redis.xpending(ingester.stream, INGEST_GROUP)["pending"]
        group = ingester.redis.xinfo_groups(ingester.stream)[0]
        if pending == 0 and group["lag"] in (0, None):
            return


def stored_points(session: Session, run_id: str, key: str = "loss") -> list[tuple[int, float]]:
    """(step, value) of every stored point of the series, in step order, read from its blocks."""
    session.expire_all()
    sid = session.scalar(
        select(MetricSeries.id).where(MetricSeries.run_id == run_id, MetricSeries.key == key)
    )
    if sid is None:
        return []
    points = whole_series_points(session, [sid])[sid]
    return list(zip(points.step.tolist(), points.value.tolist(), strict=True))


def store(session: Session, *events: AnyEvent) -> None:
    """Stores events the way the ingester does, without the stream (for API tests)."""
    from server.ingest.writer import write_batch

    write_batch(session, list(events))
    session.expire_all()
