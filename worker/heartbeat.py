"""Heartbeats to the server and the cancel listener: the worker's two background loops."""

import json
import logging
import socket
import threading

import redis

from runyard.schemas import CancelNotice, cancel_channel, worker_queue, worker_runs_key
from worker.errors import RunyardWorkerError
from worker.run_task import RunningRuns
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def heartbeat_payload(
    settings: WorkerSettings,
    slots: tuple[str, ...],
    running: RunningRuns,
    gpu_names: list[str] | None = None,
) -> dict:
    held = running.snapshot()
    return {
        "name": settings.name,
        "queue": worker_queue(settings.name),
        "hostname": socket.gethostname(),
        "address": settings.advertise_addr,
        "slots_total": len(slots),
        "slots": list(slots),
        "gpu_names": gpu_names or [],
        "running": [{"run_id": rid, "slots": s} for rid, s in held.items()],
    }


def heartbeat_loop(
    settings: WorkerSettings,
    api: WorkerApi,
    client: "redis.Redis",
    slots: tuple[str, ...],
    running: RunningRuns,
    stop: threading.Event,
    gpu_names: list[str] | None = None,
) -> None:
    while True:
        payload = heartbeat_payload(settings, slots, running, gpu_names)
        try:
            client.set(
                worker_runs_key(settings.redis_prefix, settings.name),
                json.dumps([r["run_id"] for r in payload["running"]]),
                px=int(settings.heartbeat_seconds * 3000),
            )
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("running-runs record not written: %s", exc)
        try:
            api.heartbeat(payload)
        except RunyardWorkerError as exc:
            log.warning("heartbeat not delivered: %s", exc)
        if stop.wait(settings.heartbeat_seconds):
            return


def parse_cancel(data: bytes | str) -> CancelNotice | None:
    """The server publishes a bare run id; a JSON `CancelNotice` is accepted too."""
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
    """Stops the runs a cancel notice names; reconnects after a Redis outage."""
    while not stop.is_set():
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(cancel_channel(prefix))
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and (notice := parse_cancel(message["data"])):
                    running.cancel(notice.run_id, notice.reason, notice.attempt)
            pubsub.close()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("cancel listener lost Redis (%s); reconnecting", exc)
            stop.wait(1.0)
