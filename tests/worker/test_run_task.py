"""The run task without Celery: stale deliveries are no-ops, the child's output and exit
become ordered events, and a cancel stops the run and frees its slots."""

import json
import socket
import sys
import textwrap
import threading

import pytest

from runyard.schemas import EventAdapter, RunAssignment, assignment_key, parse_spec_text
from runyard.schemas.streams import EVENT_FIELD, events_stream
from tests.worker.polling import wait_for
from worker.events import redis_client as connect
from worker.run_task import RunningRuns, TaskContext, execute
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings

SPEC = parse_spec_text("name: t\nproject: p\nmodel: {entrypoint: 'm:C'}\n")


def unused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def ctx(tmp_path, redis_prefix):
    settings = WorkerSettings(
        name="w1",
        redis_prefix=redis_prefix,
        work_dir=tmp_path / "work",
        spool_dir=tmp_path / "spool",
        cancel_grace_seconds=1.0,
    )
    context = TaskContext(
        settings=settings,
        redis=connect(settings.redis_url),
        api=WorkerApi(unused_url(), None, timeout=1),
        running=RunningRuns(),
    )
    yield context
    context.api.close()


def assign(ctx, code: str, *, attempt: int = 1, current: bool = True) -> dict:
    run_id = "run-" + ctx.settings.redis_prefix
    if current:
        ctx.redis.set(
            assignment_key(ctx.settings.redis_prefix, run_id),
            json.dumps({"attempt": attempt, "workers": ["w1"]}),
        )
    ctx.child_argv = lambda _a: [sys.executable, "-c", textwrap.dedent(code)]
    return RunAssignment(
        run_id=run_id,
        attempt=attempt,
        worker_name="w1",
        spec=SPEC,
        slots=["0"],
        run_token="ry_run_x",
        server_url="http://unused",
    ).model_dump(mode="json")


def events(ctx):
    return [
        EventAdapter.validate_json(f[EVENT_FIELD.encode()])
        for _, f in ctx.redis.xrange(events_stream(ctx.settings.redis_prefix))
    ]


def test_a_task_for_an_assignment_that_is_not_current_is_skipped(ctx):
    payload = assign(ctx, "print('never')", current=False)
    assert execute(payload, ctx) == "skipped"
    assert events(ctx) == []


def test_a_task_for_an_older_attempt_is_skipped(ctx):
    payload = assign(ctx, "print('never')", attempt=2)
    payload["attempt"] = 1
    assert execute(payload, ctx) == "skipped"


def test_completed_run_reports_running_then_its_lines_then_completed(ctx):
    assert execute(assign(ctx, "print('epoch 1'); print('epoch 2')"), ctx) == "completed"
    got = events(ctx)
    assert [e.kind for e in got] == ["state", "log", "log", "state"]
    assert [e.seq for e in got] == [0, 1, 2, 3]
    assert got[0].state == "running" and got[-1].state == "completed"
    assert [e.lines[0] for e in got[1:3]] == ["epoch 1", "epoch 2"]


def test_child_failure_notice_gives_the_reason_and_traceback(ctx):
    code = """
        import json, os
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            fd.write(json.dumps({"kind": "failure", "reason": "ValueError: bad",
                                 "traceback": "Traceback...\\nValueError: bad"}) + "\\n")
        raise SystemExit(1)
    """
    assert execute(assign(ctx, code), ctx) == "failed"
    final = events(ctx)[-1]
    assert final.state == "failed" and final.reason == "ValueError: bad"
    assert final.traceback.endswith("ValueError: bad")


def test_metric_notices_become_metric_events_before_the_final_state(ctx):
    code = """
        import json, os, time
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            for step in range(3):
                point = {"key": "loss", "step": step, "value": 1.0, "wall_time": time.time()}
                fd.write(json.dumps({"kind": "metrics", "points": [point]}) + "\\n")
    """
    assert execute(assign(ctx, code), ctx) == "completed"
    got = events(ctx)
    steps = [p.step for e in got if e.kind == "metrics" for p in e.points]
    assert steps == [0, 1, 2]
    assert got[-1].kind == "state"


def test_cancel_stops_the_run_and_frees_its_slots_within_the_grace_period(ctx):
    payload = assign(
        ctx,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("training", flush=True)
        while True: time.sleep(0.05)
        """,
    )
    outcome: list[str] = []
    task = threading.Thread(target=lambda: outcome.append(execute(payload, ctx)))
    task.start()
    wait_for(lambda: any(e.kind == "log" for e in events(ctx)), what="the run to start")
    assert ctx.running.snapshot() == {payload["run_id"]: ["0"]}
    assert ctx.running.cancel(payload["run_id"], "canceled by alice")
    task.join(timeout=10)
    assert outcome == ["canceled"]
    assert ctx.running.snapshot() == {}
    final = events(ctx)[-1]
    assert final.state == "canceled" and final.reason == "canceled by alice"


def test_cancel_that_arrives_before_the_task_prevents_the_start(ctx):
    payload = assign(ctx, "print('must not run')")
    ctx.running.cancel(payload["run_id"], "canceled early")
    assert execute(payload, ctx) == "canceled"
    assert [e.kind for e in events(ctx)] == ["state"]
