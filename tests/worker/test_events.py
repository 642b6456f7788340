"""Event publishing: ordered (attempt, seq), batched metrics, and a disk spool that survives
a Redis outage with nothing lost and nothing out of order."""

import socket
import time

import pytest

from runyard.schemas import EventAdapter, MetricPoint, RunState
from runyard.schemas.streams import EVENT_FIELD, events_stream
from worker.events import EventPublisher, Spool, replay_spools
from worker.events import redis_client as connect

REDIS_URL = "redis://127.0.0.1:6379/0"


def dead_redis_url() -> str:
    """A port with nothing listening: connecting fails at once, like a Redis that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def stored(client, prefix):
    return [
        EventAdapter.validate_json(fields[EVENT_FIELD.encode()])
        for _, fields in client.xrange(events_stream(prefix))
    ]


def point(step: int) -> MetricPoint:
    return MetricPoint(key="loss", step=step, value=1.0 / (step + 1), wall_time=time.time())


def publisher(prefix, tmp_path, url=REDIS_URL, **kwargs) -> EventPublisher:
    return EventPublisher(
        connect(url), prefix=prefix, spool_dir=tmp_path, run_id="run-1", attempt=2, **kwargs
    )


def test_events_carry_consecutive_seq_numbers_for_their_attempt(
    redis_client, redis_prefix, tmp_path
):
    pub = publisher(redis_prefix, tmp_path)
    pub.state(RunState.running)
    pub.log("stdout", ["hello"])
    pub.log("stderr", ["warn"])
    events = stored(redis_client, redis_prefix)
    assert [(e.attempt, e.seq) for e in events] == [(2, 0), (2, 1), (2, 2)]
    assert [e.kind for e in events] == ["state", "log", "log"]


def test_metric_points_are_batched_into_one_event(redis_client, redis_prefix, tmp_path):
    pub = publisher(redis_prefix, tmp_path, metric_batch_size=100, metric_max_delay=3600)
    pub.metrics(point(s) for s in range(40))
    pub.metrics(point(s) for s in range(40, 80))
    assert stored(redis_client, redis_prefix) == []
    pub.flush()
    [event] = stored(redis_client, redis_prefix)
    assert [p.step for p in event.points] == list(range(80))


def test_a_full_batch_is_sent_without_waiting_for_a_flush(redis_client, redis_prefix, tmp_path):
    pub = publisher(redis_prefix, tmp_path, metric_batch_size=10, metric_max_delay=3600)
    pub.metrics(point(s) for s in range(10))
    assert len(stored(redis_client, redis_prefix)) == 1


def test_buffered_metrics_precede_a_state_change(redis_client, redis_prefix, tmp_path):
    pub = publisher(redis_prefix, tmp_path, metric_max_delay=3600)
    pub.metrics([point(0)])
    pub.state(RunState.completed)
    assert [e.kind for e in stored(redis_client, redis_prefix)] == ["metrics", "state"]


def test_events_published_during_an_outage_are_spooled_and_replayed_in_order(
    redis_client, redis_prefix, tmp_path
):
    pub = publisher(redis_prefix, tmp_path, metric_max_delay=3600)
    pub.log("stdout", ["before"])
    pub.point_client_at(connect(dead_redis_url()))
    for i in range(5):
        pub.log("stdout", [f"during {i}"])
    pub.metrics([point(0)])
    pub.state(RunState.completed)
    assert [e.seq for e in stored(redis_client, redis_prefix)] == [0]
    assert Spool(tmp_path / "run-1.2.0.jsonl").pending()

    pub.point_client_at(connect(REDIS_URL))
    pub.log("stdout", ["after"])
    assert pub.flush()
    events = stored(redis_client, redis_prefix)
    assert [e.seq for e in events] == list(range(9))
    assert events[-1].lines == ["after"]
    assert not Spool(tmp_path / "run-1.2.0.jsonl").pending()


def test_flush_reports_undelivered_events_while_redis_is_down(redis_prefix, tmp_path):
    pub = publisher(redis_prefix, tmp_path, url=dead_redis_url())
    pub.log("stdout", ["lost?"])
    assert pub.flush() is False
    assert Spool(tmp_path / "run-1.2.0.jsonl").pending()


def test_spools_left_by_a_dead_worker_process_are_delivered_on_restart(
    redis_client, redis_prefix, tmp_path
):
    crashed = publisher(redis_prefix, tmp_path, url=dead_redis_url())
    crashed.log("stdout", ["one"])
    crashed.log("stdout", ["two"])
    assert replay_spools(redis_client, redis_prefix, tmp_path) == 1
    assert [e.lines for e in stored(redis_client, redis_prefix)] == [["one"], ["two"]]
    assert list(tmp_path.glob("*.jsonl")) == []


@pytest.mark.parametrize("delivered_before_failure", [0, 2])
def test_partial_replay_keeps_exactly_the_undelivered_remainder(
    redis_client, redis_prefix, tmp_path, delivered_before_failure
):
    spool = Spool(tmp_path / "s.jsonl")
    pub = publisher(redis_prefix, tmp_path, url=dead_redis_url())
    for i in range(4):
        pub.log("stdout", [str(i)])
    payloads = (tmp_path / "run-1.2.0.jsonl").read_text().splitlines()
    spool.append(payloads)

    class FailsAfter:
        """The real client, with the connection cut after `n` deliveries."""

        def __init__(self, n):
            self.n = n

        def xadd(self, stream, fields):
            if self.n == 0:
                raise ConnectionError("down again")
            self.n -= 1
            return redis_client.xadd(stream, fields)

    assert spool.replay(FailsAfter(delivered_before_failure), events_stream(redis_prefix)) is False
    assert spool.path.read_text().splitlines() == payloads[delivered_before_failure:]
    assert spool.replay(redis_client, events_stream(redis_prefix)) is True
    assert [e.seq for e in stored(redis_client, redis_prefix)] == [0, 1, 2, 3]
