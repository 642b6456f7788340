"""An ingester killed at any point (between a commit and its acknowledgement included) loses
nothing and duplicates nothing once it is restarted."""

import os
import signal
import subprocess
import sys
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
from tests.worker.polling import wait_for

REPO = Path(__file__).resolve().parents[2]


def _start(database: TestDatabase, prefix: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RUNYARD_DATABASE_URL": database.url,
        "RUNYARD_REDIS_PREFIX": prefix,
        "RUNYARD_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    return subprocess.Popen([sys.executable, "-m", "server.ingest", *args], cwd=REPO, env=env)


@pytest.mark.slow
def test_ingester_killed_mid_stream_stores_every_event_exactly_once_after_restart(
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
    events = [metrics_event(run, seq, range(seq * 50, seq * 50 + 50)) for seq in range(200)]
    events += [
        log_event(run, 1000 + seq, [f"line {seq}.{i}" for i in range(10)]) for seq in range(40)
    ]
    publish(redis, redis_prefix, *events)

    # One event per batch, so a kill lands between some batch's commit and its ack as often as
    # anywhere else; wherever it lands, nothing may be lost or stored twice.
    first = _start(database, redis_prefix, "--consumer", "first", "--batch-size", "1")
    wait_for(
        lambda: 0 < len(stored_points(session, run.id)) < 5_000,
        timeout=120,
        what="the first ingester to be part way through",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert len(stored_points(session, run.id)) < 10_000

    restarted = _start(database, redis_prefix, "--consumer", "second", "--claim-idle-ms", "100")
    try:
        wait_for(
            lambda: (
                redis.xpending(events_stream(redis_prefix), INGEST_GROUP)["pending"] == 0
                and redis.xinfo_groups(events_stream(redis_prefix))[0]["lag"] == 0
            ),
            timeout=180,
            what="the restarted ingester to store the rest",
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=60)
        redis.close()

    assert stored_points(session, run.id) == [(s, float(s)) for s in range(10_000)]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LogLine)) == 400
