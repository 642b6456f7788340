"""Publishing a run attempt's events to the Redis stream, with a disk spool for outages.

Every event gets the next `seq` of its (run, attempt) when it is created, so the ingester can
store it idempotently. Delivery is at least once and in order: while anything is spooled, new
events are appended to the spool too, and the spool is replayed (oldest first) before direct
publishing resumes. The spool is append-only JSON lines; after a partial replay the remainder
is rewritten atomically, so a crash can redeliver an event but never lose one.
"""

import os
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from runyard.schemas import (
    CheckpointEvent,
    Event,
    EventAdapter,
    LogEvent,
    MetricPoint,
    MetricsEvent,
    RunState,
    StateEvent,
)
from runyard.schemas.streams import EVENT_FIELD, events_stream

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def redis_client(url: str) -> "redis.Redis":
    """A client that gives up quickly, so an outage spools instead of stalling training."""
    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)


class Spool:
    """Append-only JSON-lines file of events not yet delivered."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, payloads: Iterable[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as spool:
            for payload in payloads:
                spool.write(payload + "\n")
            spool.flush()
            os.fsync(spool.fileno())

    def replay(self, client: "redis.Redis", stream: str) -> bool:
        """Deliver spooled events in order. True when the spool is empty afterwards."""
        if not self.pending():
            return True
        lines = [ln for ln in self.path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        delivered = 0
        try:
            for line in lines:
                client.xadd(stream, {EVENT_FIELD: line})
                delivered += 1
        except _UNREACHABLE:
            pass
        remaining = lines[delivered:]
        if remaining:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in remaining), encoding="utf-8")
            os.replace(tmp, self.path)
            return False
        self.path.unlink(missing_ok=True)
        return True


def replay_spools(client: "redis.Redis", prefix: str, spool_dir: Path) -> int:
    """Deliver every spool a previous worker process left behind; returns how many emptied."""
    emptied = 0
    for path in sorted(spool_dir.glob("*.jsonl")):
        if Spool(path).replay(client, events_stream(prefix)):
            emptied += 1
    return emptied


class EventPublisher:
    """Publishes one run attempt's events. Thread-safe: log readers, the notice reader and the
    task thread all publish through one instance."""

    def __init__(
        self,
        client: "redis.Redis",
        *,
        prefix: str,
        spool_dir: Path,
        run_id: str,
        attempt: int,
        metric_batch_size: int = 500,
        metric_max_delay: float = 1.0,
        seq_start: int = 0,
    ) -> None:
        self._client = client
        self._stream = events_stream(prefix)
        self._spool = Spool(spool_dir / f"{run_id}.{attempt}.{seq_start}.jsonl")
        self._run_id = run_id
        self._attempt = attempt
        self._seq = seq_start
        self._lock = threading.Lock()
        self._metrics: list[MetricPoint] = []
        self._metrics_since = 0.0
        self._batch = metric_batch_size
        self._max_delay = metric_max_delay
        # After a failed delivery, events go straight to the spool until this moment, so an
        # outage costs one connection timeout per retry interval, not one per event.
        self._retry_at = 0.0
        self.retry_interval = 1.0

    def _next(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "run_id": self._run_id,
            "attempt": self._attempt,
            "seq": self._seq,
            "ts": datetime.now(UTC),
        }
        self._seq += 1
        return fields

    def _send(self, event: Event) -> None:
        """Called with the lock held, so seq order is delivery order."""
        payload = EventAdapter.dump_json(event).decode()
        if time.monotonic() < self._retry_at:
            self._spool.append([payload])
            return
        if self._spool.pending() and not self._spool.replay(self._client, self._stream):
            self._spool.append([payload])
            self._retry_at = time.monotonic() + self.retry_interval
            return
        try:
            self._client.xadd(self._stream, {EVENT_FIELD: payload})
        except _UNREACHABLE:
            self._spool.append([payload])
            self._retry_at = time.monotonic() + self.retry_interval

    def _flush_metrics_locked(self) -> None:
        if self._metrics:
            points, self._metrics = self._metrics, []
            self._send(MetricsEvent(points=points, **self._next()))  # type: ignore[arg-type]

    def log(self, stream: Literal["stdout", "stderr", "system"], lines: list[str]) -> None:
        with self._lock:
            self._send(LogEvent(stream=stream, lines=lines, **self._next()))  # type: ignore[arg-type]

    def metrics(self, points: Iterable[MetricPoint]) -> None:
        with self._lock:
            if not self._metrics:
                self._metrics_since = time.monotonic()
            self._metrics.extend(points)
            if (
                len(self._metrics) >= self._batch
                or time.monotonic() - self._metrics_since >= self._max_delay
            ):
                self._flush_metrics_locked()

    def state(
        self, state: RunState, reason: str | None = None, traceback: str | None = None
    ) -> None:
        with self._lock:
            # Metrics logged before a state change belong before it in the stream.
            self._flush_metrics_locked()
            self._send(StateEvent(state=state, reason=reason, traceback=traceback, **self._next()))  # type: ignore[arg-type]

    def checkpoint(
        self, checkpoint_id: str, epoch: int, step: int, metrics: dict[str, float]
    ) -> None:
        with self._lock:
            self._flush_metrics_locked()
            self._send(
                CheckpointEvent(
                    checkpoint_id=checkpoint_id,
                    epoch=epoch,
                    step=step,
                    metrics=metrics,
                    **self._next(),  # type: ignore[arg-type]
                )
            )

    def flush(self) -> bool:
        """Send buffered metrics and retry the spool. True when nothing is left undelivered."""
        with self._lock:
            self._flush_metrics_locked()
            delivered = self._spool.replay(self._client, self._stream)
            self._retry_at = 0.0 if delivered else time.monotonic() + self.retry_interval
            return delivered

    def point_client_at(self, client: "redis.Redis") -> None:
        """Swap the Redis connection (tests simulate an outage by pointing at a dead port)."""
        with self._lock:
            self._client = client
            self._retry_at = 0.0
