"""The run task without Celery, against a real server: a task is started only after the server
hands its node over (a stale or duplicate delivery is a no-op), the child's output and exit
become ordered events carrying the attempt's fence, and a cancel stops the run."""

import sys
import textwrap
import threading

from runyard.schemas import EventAdapter, RunAssignment, RunState, parse_spec_text
from runyard.schemas.streams import EVENT_FIELD, events_stream
from tests.worker.polling import wait_for
from tests.worker.server_world import Placed
from worker.run_task import execute

SPEC = parse_spec_text("name: t\nproject: p\nmodel: {entrypoint: 'm:C'}\n")


def assign(ctx, placed: Placed, code: str, *, attempt: int = 1, ends_paused: bool = False) -> dict:
    ctx.child_argv = lambda _a: [sys.executable, "-c", textwrap.dedent(code)]
    return RunAssignment(
        run_id=placed.run_id,
        attempt=attempt,
        fence=placed.fence,
        worker_name="w1",
        spec=SPEC,
        slots=["0"],
        run_token=placed.run_token,
        server_url="http://unused",
        ends_paused=ends_paused,
    ).model_dump(mode="json")


def all_events(ctx):
    return [
        EventAdapter.validate_json(f[EVENT_FIELD.encode()])
        for _, f in ctx.redis.xrange(events_stream(ctx.settings.redis_prefix))
    ]


def events(ctx):
    """The run's own events, without the worker's system lines."""
    return [e for e in all_events(ctx) if not (e.kind == "log" and e.stream == "system")]


def test_a_task_whose_attempt_has_ended_is_skipped(ctx, world):
    placed = world.place()
    world.end(placed.run_id, RunState.canceled, "canceled by ann")
    assert execute(assign(ctx, placed, "print('never')"), ctx) == "skipped"
    assert events(ctx) == []


def test_a_task_for_another_worker_is_skipped(ctx, world):
    placed = world.place(worker="w2")
    assert execute(assign(ctx, placed, "print('never')"), ctx) == "skipped"
    assert world.node(placed.fence).seen_at is None


def test_a_redelivered_task_runs_once(ctx, world):
    placed = world.place()
    payload = assign(ctx, placed, "print('once')")
    assert execute(payload, ctx) == "completed"
    assert execute(payload, ctx) == "skipped"
    assert [e.lines for e in events(ctx) if e.kind == "log"] == [["once"]]


def test_completed_run_reports_running_then_its_lines_then_completed(ctx, world):
    placed = world.place()
    outcome = execute(assign(ctx, placed, "print('epoch 1'); print('epoch 2')"), ctx)
    assert outcome == "completed"
    got = events(ctx)
    assert [e.kind for e in got] == ["state", "log", "log", "state"]
    assert [e.seq for e in got] == [1, 2, 3, 4]  # 0: the worker's note on isolation
    assert {(e.fence, e.worker) for e in got} == {(placed.fence, "w1")}
    assert got[0].state == "running" and got[-1].state == "completed"
    assert [e.lines[0] for e in got[1:3]] == ["epoch 1", "epoch 2"]
    node = world.node(placed.fence)
    assert node.seen_at is not None and node.seen_incarnation == ctx.incarnation


def test_an_asha_rung_that_ends_reports_paused_instead_of_completed(ctx, world):
    outcome = execute(assign(ctx, world.place(), "print('rung done')", ends_paused=True), ctx)
    assert outcome == "completed"  # the child finished; the run waits for its search
    final = events(ctx)[-1]
    assert final.state == "paused"
    assert final.reason is not None and "waiting for ASHA" in final.reason


def test_child_failure_notice_gives_the_reason_and_traceback(ctx, world):
    code = """
        import json, os
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            fd.write(json.dumps({"kind": "failure", "reason": "ValueError: bad",
                                 "traceback": "Traceback...\\nValueError: bad"}) + "\\n")
        raise SystemExit(1)
    """
    assert execute(assign(ctx, world.place(), code), ctx) == "failed"
    final = events(ctx)[-1]
    assert final.state == "failed" and final.reason == "ValueError: bad"
    assert final.traceback.endswith("ValueError: bad")


def test_metric_notices_become_metric_events_before_the_final_state(ctx, world):
    code = """
        import json, os, time
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            for step in range(3):
                point = {"key": "loss", "step": step, "value": 1.0, "wall_time": time.time()}
                fd.write(json.dumps({"kind": "metrics", "points": [point]}) + "\\n")
    """
    assert execute(assign(ctx, world.place(), code), ctx) == "completed"
    got = events(ctx)
    steps = [p.step for e in got if e.kind == "metric_columns" for p in e.points]
    assert steps == [0, 1, 2]
    assert got[-1].kind == "state"


def test_a_notice_naming_a_file_outside_the_run_directory_uploads_nothing(ctx, world, tmp_path):
    secret = tmp_path / "admin-token"
    secret.write_text("ry_user_secret")
    code = f"""
        import json, os
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            fd.write(json.dumps({{"kind": "checkpoint", "path": {str(secret)!r},
                                 "epoch": 0, "step": 1}}) + "\\n")
            fd.write(json.dumps({{"kind": "checkpoint", "path": "../../../admin-token",
                                 "epoch": 0, "step": 2}}) + "\\n")
    """
    assert execute(assign(ctx, world.place(), code), ctx) == "completed"
    got = all_events(ctx)
    assert [e.kind for e in got if e.kind != "log"] == ["state", "state"]  # no checkpoint
    refusals = [e.lines[0] for e in got if e.kind == "log" and "not uploaded" in e.lines[0]]
    assert len(refusals) == 2 and all("not uploaded" in r for r in refusals)
    assert secret.read_text() == "ry_user_secret"


def test_cancel_stops_the_run_and_frees_its_slots_within_the_grace_period(ctx, world):
    placed = world.place()
    payload = assign(
        ctx,
        placed,
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
    assert [a.fence for a in ctx.running.report("x").attempts] == [placed.fence]
    assert ctx.running.cancel(placed.run_id, "canceled by alice")
    task.join(timeout=10)
    assert outcome == ["canceled"]
    assert ctx.running.report("x").attempts == []
    final = events(ctx)[-1]
    assert final.state == "canceled" and final.reason == "canceled by alice"


def test_cancel_that_arrives_before_the_task_prevents_the_start(ctx, world):
    placed = world.place()
    payload = assign(ctx, placed, "print('must not run')")
    ctx.running.cancel(placed.run_id, "canceled early")
    assert execute(payload, ctx) == "canceled"
    assert [e.kind for e in events(ctx)] == ["state"]


def test_a_run_on_a_worker_without_isolation_says_so_in_its_log(ctx, world):
    assert execute(assign(ctx, world.place(), "print('hi')"), ctx) == "completed"
    [note, *_] = [e for e in all_events(ctx) if e.kind == "log" and e.stream == "system"]
    assert "this run is not isolated" in note.lines[0]
