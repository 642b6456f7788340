"""An ingester killed between commit and acknowledgement loses nothing and duplicates nothing."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from runyard.schemas.streams import INGEST_GROUP, events_stream
from server.logs.models import LogLine
from tests.server.conftest import TestDatabase
from tests.server.ingest_helpers import log_event, metrics_event, publish, stored_points

REPO = Path(__file__).resolve().parents[2]


def _start(database: TestDatabase, prefix: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RUNYARD_DATABASE_URL": database.url,
        "RUNYARD_REDIS_PREFIX": prefix,
        "RUNYARD_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    return subprocess.Popen([sys.executable, "-m", "server.ingest", *args], cwd=REPO, env=env)


def _wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # polling interval of a deadline wait, not a synchronisation
    raise AssertionError("condition not met before the deadline")


@pytest.mark.slow
def test_ingester_killed_before_ack_stores_every_event_exactly_once_after_restart(
    database: TestDatabase,
    redis_prefix: str,
    session: Session,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user, state=RunState.running)
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    events = [metrics_event(run, seq, range(seq * 500, seq * 500 + 500)) for seq in range(6)]
    events += [
        log_event(run, 100 + seq, [f"line {seq}.{i}" for i in range(10)]) for seq in range(4)
    ]
    publish(redis, redis_prefix, *events)

    crashing = _start(database, redis_prefix, "--consumer", "first", "--crash-after-commit")
    assert crashing.wait(timeout=120) == 17
    # The batch was committed but never acknowledged.
    assert redis.xpending(events_stream(redis_prefix), INGEST_GROUP)["pending"] == len(events)
    assert len(stored_points(session, run.id)) == 3000

    restarted = _start(database, redis_prefix, "--consumer", "second", "--claim-idle-ms", "100")
    try:
        _wait_until(
            lambda: redis.xpending(events_stream(redis_prefix), INGEST_GROUP)["pending"] == 0
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=60)
        redis.close()

    assert stored_points(session, run.id) == [(s, float(s)) for s in range(3000)]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LogLine)) == 40
