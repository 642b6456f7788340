"""The ingester against real Redis and both SQL backends: batches, idempotence, dead letters."""

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas.events import EventAdapter, MetricColumnsEvent, StateEvent
from runyard.schemas.states import RunState
from runyard.schemas.streams import EVENT_FIELD, INGEST_GROUP, events_stream, run_channel
from server.db import make_session_factory
from server.ingest.consumer import Ingester, IngestOptions, dead_letter_stream
from server.logs.models import LogLine
from server.metrics.downsample import Point
from server.metrics.models import MetricRollup
from server.metrics.rollups import extremes
from server.runs.models import Run, RunTransition
from tests.server.conftest import TestDatabase
from tests.server.ingest_helpers import (
    attributed,
    drain,
    log_event,
    metrics_event,
    publish,
    stored_points,
)
from tests.worker.polling import wait_for


@pytest.fixture
def run(make_user: Callable, make_project: Callable, make_run: Callable) -> Run:
    user, _ = make_user()
    return make_run(make_project(user), user, state=RunState.running)


@pytest.fixture
def ingester(database: TestDatabase, redis_prefix: str) -> Iterator[Ingester]:
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    yield Ingester(
        make_session_factory(database.engine),
        redis,
        redis_prefix,
        consumer="test-consumer",
        options=IngestOptions(block_ms=10, claim_idle_ms=50),
    )
    redis.close()


def test_metric_points_are_stored(ingester: Ingester, run: Run, session: Session) -> None:
    publish(ingester.redis, ingester.prefix, metrics_event(run, 0, range(0, 5)))
    drain(ingester)
    assert stored_points(session, run.id) == [(s, float(s)) for s in range(5)]


def test_redelivered_metric_event_stores_each_point_once(
    ingester: Ingester, run: Run, session: Session
) -> None:
    event = metrics_event(run, 0, range(0, 100))
    publish(ingester.redis, ingester.prefix, event, event)
    drain(ingester)
    publish(ingester.redis, ingester.prefix, event)
    drain(ingester)
    assert stored_points(session, run.id) == [(s, float(s)) for s in range(100)]


def test_redelivered_log_event_stores_each_line_once(
    ingester: Ingester, run: Run, session: Session
) -> None:
    event = log_event(run, 0, ["epoch 0", "epoch 1", "done"])
    publish(ingester.redis, ingester.prefix, event, event)
    drain(ingester)
    publish(ingester.redis, ingester.prefix, event)
    drain(ingester)
    texts = session.scalars(
        select(LogLine.text).where(LogLine.run_id == run.id).order_by(LogLine.id)
    )
    assert list(texts) == ["epoch 0", "epoch 1", "done"]


def test_newer_attempt_replaces_points_and_older_attempt_does_not(
    ingester: Ingester, run: Run, session: Session
) -> None:
    publish(ingester.redis, ingester.prefix, metrics_event(run, 0, range(0, 10), attempt=2))
    drain(ingester)
    # A late event of attempt 1 must not undo attempt 2; attempt 3 replaces steps 5-9.
    publish(
        ingester.redis,
        ingester.prefix,
        metrics_event(run, 9, range(0, 10), attempt=1, offset=1000),
        metrics_event(run, 0, range(5, 10), attempt=3, offset=0.5),
    )
    drain(ingester)
    expected = [(s, float(s)) for s in range(5)] + [(s, s + 0.5) for s in range(5, 10)]
    assert stored_points(session, run.id) == expected


def test_rollups_match_the_stored_points_after_rewrites(
    ingester: Ingester, run: Run, session: Session
) -> None:
    publish(
        ingester.redis,
        ingester.prefix,
        metrics_event(run, 0, range(0, 300)),
        metrics_event(run, 0, range(100, 150), attempt=2, offset=-1000),
        metrics_event(run, 1, range(300, 400), attempt=2),
    )
    drain(ingester)
    points = stored_points(session, run.id)
    rollups = session.scalars(select(MetricRollup).order_by(MetricRollup.bucket)).all()
    for rollup in rollups:
        members = [Point(s, v) for s, v in points if s // 64 == rollup.bucket]
        low, high = extremes(members)
        assert (rollup.min_step, rollup.min_value) == (low.step, low.value)
        assert (rollup.max_step, rollup.max_value) == (high.step, high.value)
        assert rollup.last_step == members[-1].step
    assert len(rollups) == len({s // 64 for s, _ in points})


def test_invalid_entries_are_dead_lettered_and_the_rest_is_stored(
    ingester: Ingester, run: Run, session: Session
) -> None:
    stream = events_stream(ingester.prefix)
    ingester.redis.xadd(stream, {EVENT_FIELD: b"{not json"})
    ingester.redis.xadd(stream, {"other": b"x"})
    ingester.redis.xadd(stream, {EVENT_FIELD: b'{"kind": "metrics", "run_id": 1}'})
    publish(ingester.redis, ingester.prefix, metrics_event(run, 0, range(3)))
    drain(ingester)
    assert ingester.redis.xlen(dead_letter_stream(ingester.prefix)) == 3
    assert len(stored_points(session, run.id)) == 3


def test_a_stream_of_both_metric_formats_is_stored_and_a_malformed_columnar_entry_dead_lettered(
    ingester: Ingester, run: Run, session: Session
) -> None:
    # During an upgrade a stream holds older workers' events (a JSON object per point) and
    # newer ones' (columns); the newer attempt's points win whichever format carried them.
    older = metrics_event(run, 0, range(0, 300))
    newer = metrics_event(run, 0, range(100, 150), attempt=2, offset=-1000)
    columns = MetricColumnsEvent.of_points(
        newer.points, **newer.model_dump(exclude={"kind", "points"})
    )
    broken = json.loads(EventAdapter.dump_json(columns)) | {"counts": [49]}
    publish(ingester.redis, ingester.prefix, older, columns)
    ingester.redis.xadd(events_stream(ingester.prefix), {EVENT_FIELD: json.dumps(broken)})
    drain(ingester)
    expected = [(s, float(s - 1000 if 100 <= s < 150 else s)) for s in range(300)]
    assert stored_points(session, run.id) == expected
    dead = ingester.redis.xrange(dead_letter_stream(ingester.prefix))
    assert len(dead) == 1
    assert b"49 points need 392" in dead[0][1][b"reason"]


def test_events_of_unknown_runs_are_dead_lettered(
    ingester: Ingester, run: Run, session: Session
) -> None:
    ghost = metrics_event(run, 0, range(3)).model_copy(update={"run_id": "no-such-run"})
    publish(ingester.redis, ingester.prefix, ghost, metrics_event(run, 0, range(3)))
    drain(ingester)
    dead = ingester.redis.xrange(dead_letter_stream(ingester.prefix))
    assert [fields[b"reason"] for _, fields in dead] == [b"unknown run_id: no such run"]
    assert len(stored_points(session, run.id)) == 3


def test_log_line_with_nul_byte_is_stored_without_blocking_the_stream(
    ingester: Ingester, run: Run, session: Session
) -> None:
    publish(ingester.redis, ingester.prefix, log_event(run, 0, ["bad\x00byte"]))
    drain(ingester)
    assert session.scalar(select(LogLine.text)) == "bad\ufffdbyte"


def test_state_events_move_the_run_and_stale_attempts_are_ignored(
    ingester: Ingester, run: Run, session: Session
) -> None:
    now = datetime.now(UTC)
    publish(
        ingester.redis,
        ingester.prefix,
        StateEvent(**attributed(run, 2), seq=0, ts=now, state=RunState.failed),
        StateEvent(**attributed(run, 1), seq=5, ts=now, state=RunState.completed),
        StateEvent(**attributed(run, 1), seq=5, ts=now, state=RunState.completed),
    )
    drain(ingester)
    session.expire_all()
    assert session.get(Run, run.id).state == RunState.completed  # type: ignore[union-attr]
    to_states = session.scalars(
        select(RunTransition.to_state).where(RunTransition.run_id == run.id)
    ).all()
    assert to_states.count(RunState.completed.value) == 1


def test_entries_are_acknowledged_after_the_batch_is_stored(
    ingester: Ingester, run: Run, session: Session
) -> None:
    publish(ingester.redis, ingester.prefix, metrics_event(run, 0, range(3)))
    drain(ingester)
    assert ingester.redis.xpending(ingester.stream, INGEST_GROUP)["pending"] == 0


def test_pending_entries_of_a_dead_consumer_are_claimed(
    ingester: Ingester, run: Run, session: Session
) -> None:
    ingester.ensure_group()
    publish(ingester.redis, ingester.prefix, metrics_event(run, 0, range(7)))
    # Another consumer reads the entry and dies without acknowledging it.
    ingester.redis.xreadgroup(INGEST_GROUP, "dead-consumer", {ingester.stream: ">"}, count=10)
    assert ingester.redis.xpending(ingester.stream, INGEST_GROUP)["pending"] == 1
    wait_for(lambda: ingester.claim_abandoned() > 0, what="the abandoned entries to be claimed")
    assert len(stored_points(session, run.id)) == 7
    assert ingester.redis.xpending(ingester.stream, INGEST_GROUP)["pending"] == 0


def test_a_notice_is_published_on_the_run_channel_after_commit(
    ingester: Ingester, run: Run
) -> None:
    pubsub = ingester.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(run_channel(run.id, ingester.prefix))
    publish(ingester.redis, ingester.prefix, log_event(run, 0, ["hello"]))
    drain(ingester)
    message = None
    deadline = datetime.now(UTC).timestamp() + 5
    while message is None and datetime.now(UTC).timestamp() < deadline:
        message = pubsub.get_message(timeout=0.5)
    pubsub.close()
    assert message is not None
    assert b'"lines": 1' in message["data"]


def test_batch_counts_points_in_sql(ingester: Ingester, run: Run, session: Session) -> None:
    publish(
        ingester.redis,
        ingester.prefix,
        *[metrics_event(run, seq, range(seq * 1000, seq * 1000 + 1000)) for seq in range(5)],
    )
    drain(ingester)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LogLine)) == 0
    assert len(stored_points(session, run.id)) == 5000


def test_acknowledged_entries_are_trimmed_from_the_stream(
    ingester: Ingester, run: Run, session: Session
) -> None:
    publish(ingester.redis, ingester.prefix, *[log_event(run, seq, ["x"]) for seq in range(5)])
    drain(ingester)
    ingester.trim_acknowledged()
    # Only the last delivered entry may stay (it marks where the group is).
    assert ingester.redis.xlen(ingester.stream) <= 1


def test_unacknowledged_entries_survive_trimming(ingester: Ingester, run: Run) -> None:
    ingester.ensure_group()
    publish(ingester.redis, ingester.prefix, *[log_event(run, seq, ["x"]) for seq in range(3)])
    ingester.redis.xreadgroup(INGEST_GROUP, "dead-consumer", {ingester.stream: ">"}, count=10)
    ingester.trim_acknowledged()
    assert ingester.redis.xlen(ingester.stream) == 3


def test_an_event_the_database_refuses_is_dead_lettered_and_the_batch_goes_on(
    ingester: Ingester, run: Run, session: Session, database: TestDatabase
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL refuses NUL characters in text")
    publish(
        ingester.redis,
        ingester.prefix,
        metrics_event(run, 0, range(3), key="bad\x00key"),
        metrics_event(run, 1, range(4)),
    )
    drain(ingester)
    dead = ingester.redis.xrange(dead_letter_stream(ingester.prefix))
    assert len(dead) == 1
    assert len(stored_points(session, run.id)) == 4


def test_an_event_not_written_by_the_worker_holding_its_attempt_is_dead_lettered_and_counted(
    ingester: Ingester, run: Run, session: Session, client, make_worker_token, auth
) -> None:
    genuine = log_event(run, 0, ["real line"])
    forged_worker = log_event(run, 1, ["forged line"]).model_copy(update={"worker": "intruder"})
    forged_fence = log_event(run, 2, ["forged line"]).model_copy(
        update={"fence": genuine.fence + 1000}
    )
    publish(ingester.redis, ingester.prefix, genuine, forged_worker, forged_fence)
    drain(ingester)

    session.expire_all()
    assert session.scalars(select(LogLine.text)).all() == ["real line"]
    reasons = [
        f[b"reason"].decode() for _, f in ingester.redis.xrange(dead_letter_stream(ingester.prefix))
    ]
    assert len(reasons) == 2
    assert any("worker 'intruder' does not hold attempt 1" in r for r in reasons), reasons
    assert any(f"fence {genuine.fence + 1000} is not attempt 1" in r for r in reasons), reasons
    scraped = client.get("/metrics", headers=auth(make_worker_token())).text
    assert 'runyard_ingest_dead_letters{kind="misattributed"} 2.0' in scraped


def test_a_superseded_attempts_history_is_kept_but_it_no_longer_moves_the_run(
    ingester: Ingester, run: Run, session: Session
) -> None:
    old = attributed(run, 1)
    new = attributed(run, 2)  # the run was requeued and placed again
    session.expire_all()
    current = session.get(Run, run.id)
    current.attempt = 2  # type: ignore[union-attr]
    session.commit()
    now = datetime.now(UTC)
    publish(
        ingester.redis,
        ingester.prefix,
        log_event(run, 7, ["late line of attempt 1"], attempt=1),
        StateEvent(**old, seq=8, ts=now, state=RunState.failed),
        StateEvent(**new, seq=0, ts=now, state=RunState.completed),
    )
    drain(ingester)
    session.expire_all()
    assert session.scalars(select(LogLine.text)).all() == ["late line of attempt 1"]
    assert session.get(Run, run.id).state == RunState.completed  # type: ignore[union-attr]


@pytest.mark.redis
def test_after_a_redis_restart_that_lost_the_stream_the_ingester_recreates_its_group_and_carries_on(
    database: TestDatabase, own_redis, redis_prefix: str, run: Run, session: Session
) -> None:
    redis = own_redis.client()
    ingester = Ingester(
        make_session_factory(database.engine),
        redis,
        redis_prefix,
        consumer="c1",
        options=IngestOptions(block_ms=50),
    )
    stop = threading.Event()
    thread = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
    thread.start()
    try:
        publish(redis, redis_prefix, metrics_event(run, 0, range(0, 10)))
        wait_for(lambda: len(stored_points(session, run.id)) == 10, what="the first points")
        own_redis.restart()  # SHUTDOWN NOSAVE: stream and group are gone
        publish(own_redis.client(), redis_prefix, metrics_event(run, 1, range(10, 20)))
        wait_for(
            lambda: len(stored_points(session, run.id)) == 20,
            timeout=30,
            what="points published after the restart",
        )
    finally:
        stop.set()
        thread.join(timeout=30)
