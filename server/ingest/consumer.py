"""The Redis Streams side of the ingester: read, validate, hand to the writer, acknowledge.

Delivery is at least once: entries are acknowledged only after their batch has committed, so a
crash between the two leaves them pending, and they are read again (by this consumer's next
incarnation from its own pending list, or by any consumer through XAUTOCLAIM once idle long
enough). The writer makes the second delivery a no-op.
"""

import json
import logging
import os
import queue
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from redis import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from runyard.schemas.events import AnyEvent, ReceivedEventAdapter
from runyard.schemas.streams import EVENT_FIELD, INGEST_GROUP, events_stream, run_channel
from server.ingest.metric_rows import MetricRows, metric_rows
from server.ingest.run_limits import RunLimits
from server.ingest.writer import BatchResult, Oversized, write_batch

log = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]


@dataclass
class Prepared:
    """A validated batch waiting to be written."""

    entries: list[Entry]
    events: list[AnyEvent] = field(default_factory=list)
    ids: list[bytes] = field(default_factory=list)
    dead: list[tuple[bytes, dict[bytes, bytes], str]] = field(default_factory=list)
    metrics: MetricRows | None = None
    """The events' metric points as columns, built off the writer thread."""
    oversized: list[Oversized] = field(default_factory=list)
    """Entries refused for their size (also in `dead`), for their runs' logs."""


class IngestError(Exception):
    """The ingester cannot go on; the message says what to check."""


def dead_letter_stream(prefix: str) -> str:
    return f"{events_stream(prefix)}:dead"


def dead_letter_counts_key(prefix: str) -> str:
    """Redis hash: dead letters so far by kind, summed over every ingester (for /metrics)."""
    return f"{events_stream(prefix)}:dead:counts"


def dead_letter_kind(reason: str) -> str:
    if reason.startswith("forged or misattributed"):
        return "misattributed"
    if reason.startswith("unknown run_id"):
        return "unknown_run"
    if reason.startswith("entry has no"):
        return "malformed"
    return "invalid"


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class IngestOptions:
    batch_size: int = 100
    """Entries per read and per transaction (a metrics event holds up to 100k points)."""
    block_ms: int = 200
    claim_idle_ms: int = 60_000
    """Pending entries idle this long belong to a consumer presumed dead and are taken over."""
    claim_every: int = 50
    """Look for dead consumers' entries every this many reads (and once at start)."""
    trim_every: int = 20
    """Drop acknowledged entries from the stream every this many batches."""
    limits: RunLimits = field(default_factory=RunLimits)


class Ingester:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        redis: Redis,
        prefix: str,
        consumer: str | None = None,
        options: IngestOptions | None = None,
        on_batch: Callable[[BatchResult, int], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.redis = redis
        self.prefix = prefix
        self.stream = events_stream(prefix)
        self.consumer = consumer or default_consumer_name()
        self.options = options or IngestOptions()
        self.on_batch = on_batch
        self._reads = 0
        self._commits = 0

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, INGEST_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise IngestError(f"cannot create consumer group on {self.stream}: {exc}") from exc

    def run(self, stop: threading.Event) -> None:
        """Consumes until `stop` is set. A reader thread reads and validates the next batch
        while this thread writes the current one, so Python's work overlaps the database's.
        Errors of Redis or the database are logged and retried, so a restart of either does
        not end the ingester."""
        while True:
            try:
                self.ensure_group()
                self.drain_own_pending()
                break
            except (RedisError, SQLAlchemyError):
                log.exception("ingester cannot start yet; retrying")
                if stop.wait(1.0):
                    return
        prepared: queue.Queue[Prepared] = queue.Queue(maxsize=2)
        reader = threading.Thread(
            target=self._read_loop, args=(stop, prepared), name="ingest-reader", daemon=True
        )
        reader.start()
        while reader.is_alive() or not prepared.empty():
            try:
                batch = prepared.get(timeout=0.1)
            except queue.Empty:
                continue
            while True:
                try:
                    self.commit(batch)
                    break
                except (RedisError, SQLAlchemyError):
                    log.exception("ingest write failed; retrying the same batch")
                    if stop.wait(1.0):
                        return  # left pending; the next start takes it over

    def _read_loop(self, stop: threading.Event, prepared: "queue.Queue[Prepared]") -> None:
        while not stop.is_set():
            try:
                for entries in self._next_entries():
                    batch = self.prepare(entries)
                    while not stop.is_set():
                        try:
                            prepared.put(batch, timeout=0.1)
                            break
                        except queue.Full:
                            continue
            except RedisError as exc:
                if _lost_group(exc):
                    self._recreate_group()
                    continue
                log.exception("reading the event stream failed; retrying")
                stop.wait(1.0)

    def _recreate_group(self) -> None:
        """Redis restarted without the stream (or someone deleted it): make the group again
        and carry on. Workers deliver again whatever they had not seen stored."""
        log.warning("the ingest group on %s is gone (Redis restarted?); recreating it", self.stream)
        try:
            self.ensure_group()
        except (RedisError, IngestError):
            log.exception("could not recreate the ingest group yet")

    def _next_entries(self) -> Iterator[list[Entry]]:
        if self._reads % self.options.claim_every == 0:
            yield from self._abandoned()
        self._reads += 1
        entries = self._read(">", block=True)
        if entries:
            yield entries

    def drain_own_pending(self) -> None:
        """Entries this consumer name read but never acknowledged (before a crash)."""
        while True:
            entries = self._read("0", block=False)
            if not entries:
                return
            self.handle(entries)

    def step(self) -> int:
        """One read, and now and then a claim of dead consumers' entries, handled in this
        thread. Returns the number of entries handled."""
        handled = 0
        for entries in self._next_entries():
            self.handle(entries)
            handled += len(entries)
        return handled

    def claim_abandoned(self) -> int:
        handled = 0
        for entries in self._abandoned():
            self.handle(entries)
            handled += len(entries)
        return handled

    def _abandoned(self) -> Iterator[list[Entry]]:
        cursor: bytes | str = "0-0"
        while True:
            reply = self.redis.xautoclaim(
                self.stream,
                INGEST_GROUP,
                self.consumer,
                min_idle_time=self.options.claim_idle_ms,
                start_id=cursor,
                count=self.options.batch_size,
            )
            cursor, entries = reply[0], reply[1]
            entries = [e for e in entries if e is not None and e[1] is not None]
            if entries:
                yield entries
            if cursor in (b"0-0", "0-0"):
                return

    def handle(self, entries: list[Entry]) -> None:
        self.commit(self.prepare(entries))

    def prepare(self, entries: list[Entry]) -> "Prepared":
        """Validates entries; the invalid ones become dead letters."""
        batch = Prepared(entries=entries)
        limit = self.options.limits.max_event_bytes
        for entry_id, fields in entries:
            payload = fields.get(EVENT_FIELD.encode(), b"")
            if len(payload) > limit:
                batch.oversized.append(Oversized(_run_id_of(payload), len(payload)))
                reason = f"event of {len(payload)} bytes exceeds RUNYARD_MAX_EVENT_BYTES ({limit})"
                batch.dead.append((entry_id, fields, reason))
                continue
            try:
                batch.events.append(
                    ReceivedEventAdapter.validate_json(fields[EVENT_FIELD.encode()])
                )
                batch.ids.append(entry_id)
            except (KeyError, ValidationError) as exc:
                batch.dead.append((entry_id, fields, _short(exc)))
        batch.metrics = metric_rows(batch.events)
        return batch

    def commit(self, batch: "Prepared") -> None:
        """Stores, then acknowledges (never the other way round), then tells live views."""
        dead = list(batch.dead)
        result = BatchResult()
        if batch.events or batch.oversized:
            result = self._write(
                batch.events, batch.ids, batch.entries, dead, batch.metrics, batch.oversized
            )
        self._acknowledge(batch.ids, dead)
        self._commits += 1
        if self._commits % self.options.trim_every == 0:
            try:
                self.trim_acknowledged()
            except RedisError as exc:  # stored and acknowledged already: trim next time
                log.warning("could not trim the event stream: %s", exc)
        self._announce(result)
        if self.on_batch is not None:
            self.on_batch(result, len(batch.events))

    def _write(
        self,
        events: list[AnyEvent],
        ids: list[bytes],
        entries: list[Entry],
        dead: list[tuple[bytes, dict[bytes, bytes], str]],
        metrics: MetricRows | None = None,
        oversized: list[Oversized] | None = None,
    ) -> BatchResult:
        """Writes the batch; if the database rejects its data (not a lost connection, which
        propagates and is retried), writes event by event and dead-letters the ones it refuses,
        so one poisonous event cannot block the stream."""
        fields_of = dict(entries)
        try:
            with self.session_factory() as session:
                result = write_batch(session, events, metrics, self.options.limits, oversized)
        except (DataError, IntegrityError) as exc:
            log.warning("batch rejected (%s); writing its events one by one", _short(exc))
            result = BatchResult()
            for entry_id, event in zip(ids, events, strict=True):
                try:
                    with self.session_factory() as session:
                        single = write_batch(session, [event], limits=self.options.limits)
                except (DataError, IntegrityError) as single_exc:
                    dead.append((entry_id, fields_of[entry_id], _short(single_exc)))
                    continue
                result.points += single.points
                result.lines += single.lines
                result.states += single.states
                result.runs |= single.runs
                result.unknown_run += [ids.index(entry_id)] if single.unknown_run else []
                result.refused += [(ids.index(entry_id), r) for _, r in single.refused]
        for index in result.unknown_run:
            dead.append((ids[index], fields_of[ids[index]], "unknown run_id: no such run"))
        for index, reason in result.refused:
            dead.append((ids[index], fields_of[ids[index]], reason))
        return result

    def trim_acknowledged(self) -> None:
        """Removes entries every consumer has acknowledged, so the stream does not grow
        forever: everything older than the oldest pending entry, or than the last delivered
        one when nothing is pending."""
        summary: Any = self.redis.xpending(self.stream, INGEST_GROUP)
        if summary["pending"]:
            floor = summary["min"]
        else:
            groups = self.redis.xinfo_groups(self.stream)
            group = next(
                (g for g in groups if g["name"] in (INGEST_GROUP, INGEST_GROUP.encode())), None
            )
            if group is None:
                return
            floor = group["last-delivered-id"]
        self.redis.xtrim(self.stream, minid=floor, approximate=False)

    def _read(self, start: str, *, block: bool) -> list[Entry]:
        reply: Any = self.redis.xreadgroup(
            INGEST_GROUP,
            self.consumer,
            {self.stream: start},
            count=self.options.batch_size,
            block=self.options.block_ms if block else None,
        )
        if not reply:
            return []
        return [(i, f) for i, f in reply[0][1] if f]

    def _acknowledge(
        self, ids: list[bytes], dead: list[tuple[bytes, dict[bytes, bytes], str]]
    ) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, fields, reason in dead:
            log.warning("dead-lettering stream entry %s: %s", entry_id, reason)
            pipe.xadd(
                dead_letter_stream(self.prefix),
                {
                    "entry_id": entry_id,
                    "reason": reason,
                    "data": fields.get(EVENT_FIELD.encode(), b""),
                },
            )
            pipe.hincrby(dead_letter_counts_key(self.prefix), dead_letter_kind(reason), 1)
        all_ids = set(ids) | {entry_id for entry_id, _, _ in dead}
        if all_ids:
            pipe.xack(self.stream, INGEST_GROUP, *sorted(all_ids))
        try:
            pipe.execute()
        except ResponseError as exc:
            if not _lost_group(exc):
                raise
            # The entries went with the old stream; what was stored stays stored.
            self._recreate_group()

    def _announce(self, result: BatchResult) -> None:
        notice = json.dumps({"points": result.points, "lines": result.lines})
        for run_id in result.runs:
            self.redis.publish(run_channel(run_id, self.prefix), notice)


_RUN_ID = re.compile(rb'"run_id"\s*:\s*"([^"\\]{1,64})"')


def _run_id_of(payload: bytes) -> str | None:
    """The run an unread (too large) event names, from its first bytes, if it says."""
    found = _RUN_ID.search(payload[:4096])
    return found.group(1).decode("utf-8", "replace") if found else None


def _lost_group(exc: Exception) -> bool:
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


def _short(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"entry has no '{EVENT_FIELD}' field"
    return str(exc)[:500]
