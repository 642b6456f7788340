"""The worker's heartbeat: a beat on Redis and on HTTP every round, reaching either renews the
leases of the runs it holds, reaching neither for a lease stops them as lost; the server's
answers and the assignment records stop superseded attempts and carry cancels."""

import json
import sys
import textwrap
import threading
import time
import uuid

import pytest

from runyard.schemas import (
    AssignmentRecord,
    RunAssignment,
    RunState,
    WorkerBeat,
    assignment_key,
    parse_spec_text,
    worker_beat_key,
)
from runyard.schemas.streams import EVENT_FIELD, events_stream
from tests.e2e.stack import free_port
from tests.worker.polling import wait_for
from tests.worker.server_world import ServerWorld
from worker.events import Outbox
from worker.events import redis_client as connect
from worker.heartbeat import Heart, parse_cancel
from worker.run_task import RunningRuns, TaskContext, execute
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.uploads import Uploader

SPEC = parse_spec_text("name: t\nproject: p\nmodel: {entrypoint: 'm:C'}\n")
LONG_RUN = "import time\nprint('up', flush=True)\nwhile True: time.sleep(0.05)"


class Node:
    """A worker process's pieces, with its heart, holding one long run of `world`."""

    def __init__(self, tmp_path, prefix, world: ServerWorld, redis_url: str, server_url=None):
        self.settings = WorkerSettings(
            name="w1",
            redis_prefix=prefix,
            work_dir=tmp_path / "work",
            spool_dir=tmp_path / "spool",
            cancel_grace_seconds=0.5,
            accept_timeout_seconds=5,
        )
        token = world.worker_token("w1")
        self.api = WorkerApi(world.url, token, timeout=5)
        self.beat_api = WorkerApi(server_url or world.url, token, timeout=1)
        client = connect(redis_url)
        self.uploader = Uploader(self.api, tmp_path / "spool" / "uploads")
        self.uploader.start()
        self.running = RunningRuns()
        self.ctx = TaskContext(
            settings=self.settings,
            redis=connect("redis://127.0.0.1:6379/0"),
            api=self.api,
            running=self.running,
            outbox=Outbox(connect("redis://127.0.0.1:6379/0"), prefix, tmp_path / "events"),
            uploader=self.uploader,
            incarnation=uuid.uuid4().hex,
            child_argv=lambda _a: [sys.executable, "-c", textwrap.dedent(LONG_RUN)],
        )
        self.heart = Heart(
            settings=self.settings,
            api=self.beat_api,
            client=client,
            slots=("0",),
            running=self.running,
            incarnation=self.ctx.incarnation,
        )
        self.outcome: list[str] = []

    def start_run(self, world: ServerWorld, lease_seconds: float = 30.0):
        placed = world.place()
        payload = RunAssignment(
            run_id=placed.run_id,
            attempt=1,
            fence=placed.fence,
            worker_name="w1",
            spec=SPEC,
            slots=["0"],
            run_token=placed.run_token,
            server_url=world.url,
            lease_seconds=lease_seconds,
        ).model_dump(mode="json")
        self.thread = threading.Thread(
            target=lambda: self.outcome.append(execute(payload, self.ctx))
        )
        self.thread.start()
        wait_for(lambda: self._printed("up"), what="the run to start")
        return placed

    def _printed(self, line: str) -> bool:
        stream = events_stream(self.settings.redis_prefix)
        return any(
            line.encode() in fields[EVENT_FIELD.encode()]
            for _, fields in self.ctx.redis.xrange(stream)
        )

    def close(self):
        for execution in self.running.executions():
            execution.cancel("test over")
        if hasattr(self, "thread"):
            self.thread.join(timeout=15)
        self.uploader.close()
        self.api.close()
        self.beat_api.close()


@pytest.fixture
def node_factory(tmp_path, redis_prefix, world):
    made = []

    def make(**kwargs):
        made.append(Node(tmp_path, redis_prefix, world, **kwargs))
        return made[-1]

    yield make
    for node in made:
        node.close()


def dead_url(scheme: str) -> str:
    return f"{scheme}://127.0.0.1:{free_port()}"


def test_each_round_beats_on_redis_and_http_with_the_attempts_held(
    node_factory, world, redis_client, redis_prefix
):
    node = node_factory(redis_url="redis://127.0.0.1:6379/0")
    placed = node.start_run(world)
    assert node.heart.round()
    beat = WorkerBeat.model_validate_json(redis_client.get(worker_beat_key(redis_prefix, "w1")))
    assert [a.fence for a in beat.attempts] == [placed.fence] and beat.n == 1
    assert node.heart.since is not None  # the server answered
    node.heart.round()
    later = WorkerBeat.model_validate_json(redis_client.get(worker_beat_key(redis_prefix, "w1")))
    assert later.n == 2


def test_reaching_redis_alone_renews_the_lease_while_the_server_is_down(node_factory, world):
    node = node_factory(redis_url="redis://127.0.0.1:6379/0", server_url=dead_url("http"))
    node.start_run(world, lease_seconds=1.0)
    [execution] = node.running.executions()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert node.heart.round()
        assert not execution.lease_lapsed(time.monotonic())
    assert node.outcome == []  # still running


def test_reaching_neither_channel_for_a_lease_stops_the_run_and_reports_it_lost(
    node_factory, world
):
    node = node_factory(redis_url=dead_url("redis") + "/0", server_url=dead_url("http"))
    placed = node.start_run(world, lease_seconds=1.0)
    wait_for(lambda: not node.heart.round() and node.outcome, timeout=30, what="the run to stop")
    assert node.outcome == ["lost"]
    assert [a.fence for a in node.running.report("x").lost] == [placed.fence]
    assert world.run(placed.run_id).state == RunState.scheduled  # no terminal state was sent


def test_the_servers_answer_stops_an_attempt_that_has_ended(node_factory, world):
    node = node_factory(redis_url="redis://127.0.0.1:6379/0")
    placed = node.start_run(world)
    world.end(placed.run_id, RunState.canceled, "superseded")
    node.heart.round()
    node.thread.join(timeout=15)
    assert node.outcome == ["canceled"]


def test_an_ended_assignment_record_stops_the_attempt_while_the_server_is_away(
    node_factory, world, redis_client, redis_prefix
):
    node = node_factory(redis_url="redis://127.0.0.1:6379/0", server_url=dead_url("http"))
    placed = node.start_run(world)
    record = AssignmentRecord(fence=placed.fence, attempt=1, workers=["w1"], ended=True)
    redis_client.set(assignment_key(redis_prefix, placed.run_id), record.model_dump_json())
    node.heart.round()
    node.thread.join(timeout=15)
    assert node.outcome == ["canceled"]


def test_cancel_notices_are_read_as_bare_ids_or_json():
    assert parse_cancel(b"run-1").run_id == "run-1"
    notice = parse_cancel(json.dumps({"run_id": "run-2", "attempt": 3, "reason": "by ann"}))
    assert (notice.run_id, notice.attempt, notice.reason) == ("run-2", 3, "by ann")
    assert parse_cancel(b"  ") is None and parse_cancel("{broken") is None
