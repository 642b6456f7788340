"""Publishing run attempts' events to the Redis stream, kept on disk until they are stored.

Every event gets the next `seq` of its (run, attempt) when it is created, so the ingester can
store it idempotently. Each attempt node's events go first to a journal (an append-only
JSON-lines file in the spool directory), then to the stream. An event leaves the journal only
once the ingest group has acknowledged it, which the ingester does after the event is
committed to SQL: so neither a Redis outage, nor a Redis restart that loses the stream, nor a
killed worker loses an event. What may happen is a second delivery, which the ingester makes
a no-op.

The `Outbox` holds every journal of the worker process and one thread that delivers, confirms
and forgets. After Redis restarts (its run id changes), events delivered to the old server
and not confirmed are delivered again, in order, before anything newer.
"""

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from runyard.schemas import (
    CheckpointEvent,
    Event,
    EventAdapter,
    LogEvent,
    MetricColumnsEvent,
    MetricPoint,
    RunState,
    StateEvent,
)
from runyard.schemas.streams import EVENT_FIELD, INGEST_GROUP, events_stream

log = logging.getLogger(__name__)

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_COMPACT_AFTER = 10_000
"""Rewrite a journal file once this many of its leading events are confirmed."""


def redis_client(url: str) -> "redis.Redis":
    """A client that gives up quickly, so an outage journals instead of stalling training."""
    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)


def _stream_id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class StoredFloor:
    """Which stream entries the ingest group has stored: every entry up to `last_delivered`
    (inclusive) that is below `min_pending` (exclusive; None when nothing is pending)."""

    last_delivered: tuple[int, int]
    min_pending: tuple[int, int] | None

    def covers(self, entry_id: tuple[int, int]) -> bool:
        if entry_id > self.last_delivered:
            return False
        return self.min_pending is None or entry_id < self.min_pending


def stored_floor(client: "redis.Redis", stream: str) -> StoredFloor | None:
    """None when the stream or its group does not exist (yet, or after a Redis restart)."""
    try:
        groups: Any = client.xinfo_groups(stream)
    except ResponseError:
        return None
    group = next((g for g in groups if g["name"] in (INGEST_GROUP, INGEST_GROUP.encode())), None)
    if group is None:
        return None
    pending = None
    if group["pending"]:
        summary: Any = client.xpending(stream, INGEST_GROUP)
        if summary["min"] is not None:
            pending = _stream_id(summary["min"])
    return StoredFloor(_stream_id(group["last-delivered-id"]), pending)


@dataclass
class _Entry:
    payload: str
    stream_id: tuple[int, int] | None = None
    redis_run: str | None = None
    """The Redis server (its run id) that holds the delivered copy."""


class Journal:
    """One attempt node's events not yet stored, in order, in memory and in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: deque[_Entry] = deque()
        self.lock = threading.Lock()
        self._file: IO[str] | None = None
        self._confirmed_in_file = 0
        self.closed = False
        """No more events will be added (its attempt is over, or a previous process left it)."""
        self.retry_at = 0.0
        """After a failed delivery, the publishing threads leave delivery to the outbox
        until then, so an outage costs one timeout per interval, not one per event."""

    @classmethod
    def load(cls, path: Path) -> "Journal":
        journal = cls(path)
        journal.closed = True
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                journal.entries.append(_Entry(line))
        return journal

    def append(self, payload: str) -> None:
        """With the lock held. Written before any delivery: a killed worker loses nothing."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(payload + "\n")
        self._file.flush()
        self.entries.append(_Entry(payload))

    def sync(self) -> None:
        if self._file is not None:
            os.fsync(self._file.fileno())

    def forget(self, count: int) -> None:
        """With the lock held: the first `count` entries are stored."""
        for _ in range(count):
            self.entries.popleft()
        self._confirmed_in_file += count
        if not self.entries:
            self._close()
            self.path.unlink(missing_ok=True)
            self._confirmed_in_file = 0
        elif self._confirmed_in_file >= _COMPACT_AFTER:
            self._close()
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(e.payload + "\n" for e in self.entries), encoding="utf-8")
            os.replace(tmp, self.path)
            self._confirmed_in_file = 0

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Outbox:
    """Every journal of this worker process, and the delivery that empties them."""

    def __init__(self, client: "redis.Redis", prefix: str, spool_dir: Path) -> None:
        self._client = client
        self._stream = events_stream(prefix)
        self._spool_dir = spool_dir
        self._lock = threading.Lock()
        self._journals: list[Journal] = []
        self._redis_run: str | None = None
        """Run id of the Redis server delivered to; None until (re)checked after an error."""
        self.retry_interval = 1.0

    def recover(self) -> int:
        """Takes over the journals a previous worker process left; returns how many."""
        found = sorted(self._spool_dir.glob("*.jsonl")) if self._spool_dir.exists() else []
        with self._lock:
            known = {j.path for j in self._journals}
            for path in found:
                if path not in known:
                    self._journals.append(Journal.load(path))
        return len(found)

    def journal(self, name: str) -> Journal:
        journal = Journal(self._spool_dir / f"{name}.jsonl")
        with self._lock:
            self._journals.append(journal)
        return journal

    def pending(self) -> int:
        with self._lock:
            journals = list(self._journals)
        return sum(len(j.entries) for j in journals)

    def _current_redis_run(self) -> str:
        if self._redis_run is None:
            info: Any = self._client.info("server")
            self._redis_run = str(info["run_id"])
        return self._redis_run

    def deliver(self, journal: Journal) -> bool:
        """With the journal's lock held: sends its undelivered entries in order. True when all
        are delivered (not yet necessarily stored)."""
        try:
            run = self._current_redis_run()
            for entry in journal.entries:
                if entry.stream_id is not None and entry.redis_run != run:
                    entry.stream_id = None  # delivered to a Redis that restarted since
            for entry in journal.entries:
                if entry.stream_id is None:
                    entry.stream_id = _stream_id(
                        self._client.xadd(self._stream, {EVENT_FIELD: entry.payload})
                    )
                    entry.redis_run = run
        except (*_UNREACHABLE, RedisError):
            self._redis_run = None  # reconnecting may reach a restarted server: check again
            journal.retry_at = time.monotonic() + self.retry_interval
            return False
        return True

    def pump(self) -> bool:
        """Deliver, confirm, forget, for every journal. True when nothing is left."""
        with self._lock:
            journals = list(self._journals)
        try:
            floor = stored_floor(self._client, self._stream)
            # Asked afresh every time: the client reconnects by itself, so a restarted server
            # may answer without any error having been seen.
            self._redis_run = None
            run = self._current_redis_run()
        except (*_UNREACHABLE, RedisError):
            self._redis_run = None
            return False
        for journal in journals:
            with journal.lock:
                self.deliver(journal)
                stored = 0
                if floor is not None:
                    for entry in journal.entries:
                        if (
                            entry.stream_id is None
                            or entry.redis_run != run
                            or not floor.covers(entry.stream_id)
                        ):
                            break
                        stored += 1
                if stored:
                    journal.forget(stored)
                journal.sync()
                if journal.closed and not journal.entries:
                    with self._lock, contextlib.suppress(ValueError):
                        self._journals.remove(journal)
        return self.pending() == 0

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.wait(interval):
            try:
                self.pump()
            except Exception:
                log.exception("event delivery failed; retrying")

    def drain(self, timeout: float) -> bool:
        """Pump until every event is stored, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not self.pump():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)  # polling interval while the ingester catches up
        return True


class EventPublisher:
    """Publishes one attempt node's events. Thread-safe: log readers, the notice reader and
    the task thread all publish through one instance."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        run_id: str,
        attempt: int,
        fence: int,
        worker: str,
        metric_batch_size: int = 500,
        metric_max_delay: float = 1.0,
        seq_start: int = 0,
    ) -> None:
        self._outbox = outbox
        # Unique per publisher: a journal a previous process left may have the same attempt.
        self._journal = outbox.journal(f"{run_id}.{attempt}.{seq_start}.{uuid.uuid4().hex[:8]}")
        self._envelope: dict[str, object] = {
            "run_id": run_id,
            "attempt": attempt,
            "fence": fence,
            "worker": worker,
        }
        self._seq = seq_start
        self._lock = self._journal.lock
        self._metrics: list[MetricPoint] = []
        self._metrics_since = 0.0
        self._batch = metric_batch_size
        self._max_delay = metric_max_delay

    def _next(self) -> dict[str, object]:
        fields = self._envelope | {"seq": self._seq, "ts": datetime.now(UTC)}
        self._seq += 1
        return fields

    def _send(self, event: Event) -> None:
        """Called with the lock held, so seq order is delivery order."""
        self._journal.append(EventAdapter.dump_json(event).decode())
        if time.monotonic() >= self._journal.retry_at:
            self._outbox.deliver(self._journal)

    def _flush_metrics_locked(self) -> None:
        if self._metrics:
            points, self._metrics = self._metrics, []
            # As columns: the ingester then reads a batch without a Python object per point.
            self._send(MetricColumnsEvent.of_points(points, **self._next()))

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
        """Send buffered metrics and whatever waits. True when all is delivered."""
        with self._lock:
            self._flush_metrics_locked()
            return self._outbox.deliver(self._journal)

    def close(self) -> None:
        """The attempt node is done publishing; the outbox forgets the journal once stored."""
        with self._lock:
            self._flush_metrics_locked()
            self._journal.closed = True
