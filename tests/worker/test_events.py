"""Event publishing: ordered (attempt, seq) with the attempt's fence and worker, batched
metrics, and a journal that keeps every event until the ingest group has stored it, through
a Redis outage, a Redis restart that loses the stream, and a killed worker."""

import contextlib
import time

from redis.exceptions import ResponseError

from runyard.schemas import EventAdapter, MetricPoint, RunState
from runyard.schemas.streams import EVENT_FIELD, INGEST_GROUP, events_stream
from tests.worker.polling import wait_for
from worker.events import EventPublisher, Outbox
from worker.events import redis_client as connect

REDIS_URL = "redis://127.0.0.1:6379/0"


def stored(client, prefix):
    return [
        EventAdapter.validate_json(fields[EVENT_FIELD.encode()])
        for _, fields in client.xrange(events_stream(prefix))
    ]


def point(step: int) -> MetricPoint:
    return MetricPoint(key="loss", step=step, value=1.0 / (step + 1), wall_time=time.time())


def publisher(outbox: Outbox, **kwargs) -> EventPublisher:
    return EventPublisher(outbox, run_id="run-1", attempt=2, fence=7, worker="w1", **kwargs)


def ingest_all(client, prefix) -> int:
    """What the ingester does after committing a batch: read as the group, acknowledge."""
    stream = events_stream(prefix)
    with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
        client.xgroup_create(stream, INGEST_GROUP, id="0", mkstream=True)
    reply = client.xreadgroup(INGEST_GROUP, "test", {stream: ">"}, count=10_000)
    ids = [entry_id for entry_id, _ in reply[0][1]] if reply else []
    if ids:
        client.xack(stream, INGEST_GROUP, *ids)
    return len(ids)


def delivered(outbox: Outbox, client, prefix: str, count: int) -> bool:
    """One delivery round; True once the stream holds `count` events."""
    outbox.pump()
    return len(stored(client, prefix)) >= count


def test_events_carry_consecutive_seq_numbers_and_their_attempts_fence_and_worker(
    redis_client, redis_prefix, tmp_path
):
    pub = publisher(Outbox(connect(REDIS_URL), redis_prefix, tmp_path))
    pub.state(RunState.running)
    pub.log("stdout", ["hello"])
    pub.log("stderr", ["warn"])
    events = stored(redis_client, redis_prefix)
    assert [(e.attempt, e.seq) for e in events] == [(2, 0), (2, 1), (2, 2)]
    assert {(e.fence, e.worker) for e in events} == {(7, "w1")}
    assert [e.kind for e in events] == ["state", "log", "log"]


def test_metric_points_are_batched_into_one_event(redis_client, redis_prefix, tmp_path):
    pub = publisher(
        Outbox(connect(REDIS_URL), redis_prefix, tmp_path),
        metric_batch_size=100,
        metric_max_delay=3600,
    )
    pub.metrics(point(s) for s in range(40))
    pub.metrics(point(s) for s in range(40, 80))
    assert stored(redis_client, redis_prefix) == []
    pub.flush()
    [event] = stored(redis_client, redis_prefix)
    assert [p.step for p in event.points] == list(range(80))


def test_buffered_metrics_precede_a_state_change(redis_client, redis_prefix, tmp_path):
    pub = publisher(Outbox(connect(REDIS_URL), redis_prefix, tmp_path), metric_max_delay=3600)
    pub.metrics([point(0)])
    pub.state(RunState.completed)
    assert [e.kind for e in stored(redis_client, redis_prefix)] == ["metric_columns", "state"]


def test_an_event_stays_in_the_journal_until_the_ingest_group_has_acknowledged_it(
    redis_client, redis_prefix, tmp_path
):
    outbox = Outbox(connect(REDIS_URL), redis_prefix, tmp_path)
    pub = publisher(outbox)
    pub.log("stdout", ["one"])
    pub.log("stdout", ["two"])
    assert not outbox.pump()  # delivered, but nobody has stored them yet
    assert outbox.pending() == 2 and list(tmp_path.glob("*.jsonl"))
    assert ingest_all(redis_client, redis_prefix) == 2
    assert outbox.pump()
    assert outbox.pending() == 0 and list(tmp_path.glob("*.jsonl")) == []


def test_events_published_while_redis_is_down_are_delivered_in_order_when_it_is_back(
    own_redis, redis_prefix, tmp_path
):
    outbox = Outbox(connect(own_redis.url), redis_prefix, tmp_path)
    pub = publisher(outbox, metric_max_delay=3600)
    pub.log("stdout", ["before"])
    own_redis.stop()
    for i in range(5):
        pub.log("stdout", [f"during {i}"])
    pub.metrics([point(0)])
    pub.state(RunState.completed)
    own_redis.start()
    client = own_redis.client()
    wait_for(lambda: delivered(outbox, client, redis_prefix, 8), what="the journal to arrive")
    events = stored(client, redis_prefix)
    # The restart lost "before" (delivered, never stored): it is delivered again, first.
    assert [e.seq for e in events] == list(range(8))
    assert events[0].lines == ["before"] and events[-1].kind == "state"


def test_a_redis_restart_that_loses_the_stream_loses_no_event(own_redis, redis_prefix, tmp_path):
    outbox = Outbox(connect(own_redis.url), redis_prefix, tmp_path)
    pub = publisher(outbox)
    client = own_redis.client()
    for i in range(3):
        pub.log("stdout", [f"stored {i}"])
    assert ingest_all(client, redis_prefix) == 3
    outbox.pump()
    for i in range(2):
        pub.log("stdout", [f"in flight {i}"])  # delivered, not yet stored
    own_redis.restart()  # SHUTDOWN NOSAVE: the stream and its group are gone
    client = own_redis.client()
    wait_for(
        lambda: delivered(outbox, client, redis_prefix, 2),
        what="the unacknowledged events to be delivered again",
    )
    assert [e.lines[0] for e in stored(client, redis_prefix)] == ["in flight 0", "in flight 1"]
    assert ingest_all(client, redis_prefix) == 2
    assert outbox.pump() and outbox.pending() == 0


def test_journals_left_by_a_killed_worker_process_are_delivered_by_the_next_one(
    redis_client, redis_prefix, tmp_path
):
    down = Outbox(connect("redis://127.0.0.1:1/0"), redis_prefix, tmp_path)
    crashed = publisher(down)
    crashed.log("stdout", ["one"])
    crashed.log("stdout", ["two"])
    # The process dies here; its journal is on disk.
    successor = Outbox(connect(REDIS_URL), redis_prefix, tmp_path)
    assert successor.recover() == 1
    successor.pump()
    assert [e.lines for e in stored(redis_client, redis_prefix)] == [["one"], ["two"]]
    ingest_all(redis_client, redis_prefix)
    assert successor.pump()
    assert list(tmp_path.glob("*.jsonl")) == []
