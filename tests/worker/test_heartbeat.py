"""The worker's background loops: the running-runs record next to each heartbeat, and cancel
notices in both wire forms."""

import json
import socket
import threading

from runyard.schemas import worker_runs_key
from worker.heartbeat import heartbeat_loop, parse_cancel
from worker.run_task import RunningRuns
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings


def test_each_heartbeat_records_the_runs_held_even_when_the_server_is_down(
    redis_client, redis_prefix
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = WorkerSettings(name="w1", redis_prefix=redis_prefix, heartbeat_seconds=5)
    stop = threading.Event()
    stop.set()  # one round only
    api = WorkerApi(dead, None, timeout=1)
    heartbeat_loop(settings, api, redis_client, ("0", "1"), RunningRuns(), stop)
    api.close()
    key = worker_runs_key(redis_prefix, "w1")
    assert json.loads(redis_client.get(key)) == []
    assert 0 < redis_client.pttl(key) <= 15_000  # lapses soon after the worker stops


def test_cancel_notices_are_read_as_bare_ids_or_json():
    assert parse_cancel(b"run-1").run_id == "run-1"
    notice = parse_cancel(json.dumps({"run_id": "run-2", "attempt": 3, "reason": "by ann"}))
    assert (notice.run_id, notice.attempt, notice.reason) == ("run-2", 3, "by ann")
    assert parse_cancel(b"  ") is None and parse_cancel("{broken") is None
