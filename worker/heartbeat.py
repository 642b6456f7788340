"""The worker's two background loops: heartbeats (with leases) and the cancel listener.

Every round, the worker reports what it holds on two channels, Redis (a beat the scheduler
reads) and HTTP (the server records it and answers with what to stop or cancel). Reaching
either renews the lease of every run it holds; a run whose lease lapses (the worker reached
neither for that long, e.g. it is partitioned away) is stopped and reported lost, because by
then the scheduler may have given its slots to another run. The sandbox enforces the same
lease by itself, which covers a worker that is paused or dead.
"""

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import redis
from pydantic import ValidationError

from runyard.schemas import (
    AssignmentRecord,
    CancelNotice,
    WorkerBeat,
    assignment_key,
    cancel_channel,
    worker_beat_key,
    worker_queue,
)
from worker.errors import RunyardWorkerError
from worker.run_task import RunningRuns
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

BEAT_TTL_SECONDS = 600
"""A beat key outlives any plausible timeout; freshness is read from its counter."""

_REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


@dataclass
class Heart:
    """The heartbeat's state across rounds."""

    settings: WorkerSettings
    api: WorkerApi
    client: "redis.Redis"
    slots: tuple[str, ...]
    running: RunningRuns
    incarnation: str
    gpu_names: list[str] = field(default_factory=list)
    isolation: str = "sandbox"
    beats: int = 0
    since: datetime | None = None
    """Server time of the last answer; the next report is taken after it."""

    def payload(self) -> dict:
        report = self.running.report(self.incarnation)
        return report.model_dump(mode="json") | {
            "name": self.settings.name,
            "queue": worker_queue(self.settings.name),
            "hostname": socket.gethostname(),
            "address": self.settings.advertise_addr,
            "slots_total": len(self.slots),
            "slots": list(self.slots),
            "gpu_names": self.gpu_names,
            "isolation": self.isolation,
            "since": self.since.isoformat() if self.since else None,
        }

    def beat_redis(self) -> bool:
        self.beats += 1
        report = self.running.report(self.incarnation)
        beat = WorkerBeat(name=self.settings.name, n=self.beats, **report.model_dump())
        try:
            self.client.set(
                worker_beat_key(self.settings.redis_prefix, self.settings.name),
                beat.model_dump_json(),
                ex=BEAT_TTL_SECONDS,
            )
            return True
        except _REDIS_DOWN as exc:
            log.warning("Redis beat not written: %s", exc)
            return False

    def beat_http(self) -> bool:
        payload = self.payload()
        try:
            ack = self.api.heartbeat(payload)
        except RunyardWorkerError as exc:
            log.warning("heartbeat not delivered: %s", exc)
            return False
        if "server_time" in ack:
            self.since = datetime.fromisoformat(ack["server_time"])
        for fence in ack.get("ended", []):
            self.running.stop_fence(int(fence), "its attempt has ended at the server")
        for fence, reason in (ack.get("preempt") or {}).items():
            self.running.preempt_fence(int(fence), str(reason))
        for execution in self.running.executions():
            if execution.assignment.fence in ack.get("cancel", []):
                self.running.cancel(
                    execution.assignment.run_id,
                    "canceled by its owner",
                    execution.assignment.attempt,
                )
        return True

    def follow_records(self) -> None:
        """The scheduler's assignment records: the channel for stops and cancels while the
        server is away. A missing record (Redis restarted, not rewritten yet) changes nothing."""
        executions = self.running.executions()
        if not executions:
            return
        keys = [assignment_key(self.settings.redis_prefix, e.assignment.run_id) for e in executions]
        try:
            raw = self.client.mget(keys)
        except _REDIS_DOWN:
            return
        for execution, value in zip(executions, raw, strict=True):
            if value is None:
                continue
            try:
                record = AssignmentRecord.model_validate_json(value)
            except ValidationError:
                continue
            a = execution.assignment
            if record.fence != a.fence or record.ended:
                self.running.stop_fence(a.fence, "its attempt has ended (superseded or finished)")
            elif record.cancel:
                self.running.cancel(a.run_id, "canceled by its owner", a.attempt)
            elif record.preempt:
                self.running.preempt_fence(a.fence, record.preempt)

    def round(self) -> bool:
        """One heartbeat round; True when either channel was reached."""
        reached = self.beat_redis()
        reached = self.beat_http() or reached
        self.follow_records()
        now = time.monotonic()
        for execution in self.running.executions():
            if reached:
                execution.renew_lease(now)
            elif execution.lease_lapsed(now):
                execution.give_up(
                    f"its lease of {execution.assignment.lease_seconds:.0f}s lapsed: this worker "
                    "reached neither the server nor Redis"
                )
        return reached


def heartbeat_loop(heart: Heart, stop: threading.Event) -> None:
    while True:
        try:
            heart.round()
        except Exception:
            log.exception("heartbeat round failed")
        if stop.wait(heart.settings.heartbeat_seconds):
            return


def parse_cancel(data: bytes | str) -> CancelNotice | None:
    """The server publishes a `CancelNotice` as JSON; a bare run id is accepted too."""
    text = data.decode() if isinstance(data, bytes) else data
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            return CancelNotice.model_validate(json.loads(text))
        except ValueError:
            return None
    return CancelNotice(run_id=text)


def cancel_listener(
    client: "redis.Redis", prefix: str, running: RunningRuns, stop: threading.Event
) -> None:
    """Stops the runs a cancel notice names at once; reconnects after a Redis outage (the
    heartbeat's answers and the assignment records carry cancels too, so none is lost)."""
    while not stop.is_set():
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(cancel_channel(prefix))
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and (notice := parse_cancel(message["data"])):
                    running.cancel(notice.run_id, notice.reason, notice.attempt)
            pubsub.close()
        except _REDIS_DOWN as exc:
            log.warning("cancel listener lost Redis (%s); reconnecting", exc)
            stop.wait(1.0)
