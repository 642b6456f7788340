"""The leader loop against a real database and Redis: one leader, runs marked scheduled and
recorded before their tasks are sent, lost workers' runs requeued or failed."""

import base64
import json

from celery import Celery
from sqlalchemy import select

from runyard.schemas import RUN_TASK, RunAssignment, RunState, assignment_key, worker_runs_key
from server.artifacts.models import Checkpoint
from server.runs.models import Run, RunTransition


def queued_tasks(redis, prefix: str, worker: str) -> list[dict]:
    """Celery messages waiting in a worker's queue (kombu keeps a Redis list per queue)."""
    raw = redis.lrange(f"{prefix}:celery:worker.{worker}", 0, -1)
    messages = [json.loads(m) for m in raw]
    bodies = []
    for message in messages:
        assert message["headers"]["task"] == RUN_TASK
        body = json.loads(base64.b64decode(message["body"]))
        bodies.append(body[0][0])
    return bodies


def test_queued_run_is_scheduled_recorded_and_sent_to_its_workers_own_queue(
    make_scheduler, factory, redis, prefix
):
    factory.worker("w1", slots=2)
    run_id = factory.run(gpus=2)
    report = make_scheduler().tick()
    assert report.dispatched == [run_id]
    run = factory.get(run_id)
    assert run.state == "scheduled" and sorted(run.devices) == [0, 1]
    [task] = queued_tasks(redis, prefix, "w1")
    assignment = RunAssignment.model_validate(task)
    assert assignment.run_id == run_id and assignment.slots == ["0", "1"]
    assert assignment.run_token.startswith("ry_run_")
    record = json.loads(redis.get(assignment_key(prefix, run_id)))
    assert record == {"attempt": 1, "workers": ["w1"], "slots": [["0", "1"]]}
    with factory.sessions() as s:
        reasons = s.scalars(select(RunTransition.to_state).where(RunTransition.run_id == run_id))
        assert list(reasons) == ["scheduled"]


def test_slots_of_scheduled_runs_are_not_given_out_again(make_scheduler, factory, redis, prefix):
    factory.worker("w1", slots=2)
    first = factory.run(gpus=2)
    second = factory.run(gpus=1)
    scheduler = make_scheduler()
    assert scheduler.tick().dispatched == [first]
    assert scheduler.tick().dispatched == []
    assert factory.get(second).state == "queued"


def test_only_one_of_two_schedulers_leads_and_the_other_takes_over_when_it_stops(
    make_scheduler, factory
):
    first, second = make_scheduler(), make_scheduler()
    assert first.tick().leading
    assert not second.tick().leading
    first.leadership.release()
    assert second.tick().leading
    assert not first.tick().leading


def test_multi_node_run_sends_one_task_per_worker_with_rank_zero_as_master(
    make_scheduler, factory, redis, prefix
):
    factory.worker("w1", slots=1)
    factory.worker("w2", slots=1)
    factory.run(gpus=1, nodes=2)
    make_scheduler().tick()
    tasks = queued_tasks(redis, prefix, "w1") + queued_tasks(redis, prefix, "w2")
    ranks = sorted((t["node_rank"], t["worker_name"], t["master_addr"]) for t in tasks)
    master = ranks[0][1] + ".local"
    assert [r[0] for r in ranks] == [0, 1]
    assert {r[2] for r in ranks} == {master}
    assert all(t["num_nodes"] == 2 for t in tasks)


def test_dead_worker_gets_nothing(make_scheduler, factory):
    factory.worker("old", slots=4, heartbeat_age=120)
    run_id = factory.run()
    assert make_scheduler().tick().dispatched == []
    assert factory.get(run_id).state == "queued"


def test_runs_of_a_worker_that_stops_heartbeating_are_requeued_to_resume_from_their_last_checkpoint(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    factory.worker("w2", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    [lost_worker] = json.loads(redis.get(assignment_key(prefix, run_id)))["workers"]
    survivor = {"w1": "w2", "w2": "w1"}[lost_worker]
    with factory.sessions() as s:
        run = s.get(Run, run_id)
        run.state = RunState.running.value
        for step in (10, 20):
            s.add(
                Checkpoint(
                    run_id=run_id,
                    attempt=1,
                    epoch=step // 10,
                    step=step,
                    size=1,
                    sha256="0" * 64,
                    storage_path=f"c{step}",
                )
            )
        s.commit()
        latest = s.scalar(select(Checkpoint.id).where(Checkpoint.step == 20))
    clock.advance(60)
    factory.heartbeat(survivor)  # the other worker went silent
    report = scheduler.tick()
    assert report.requeued == [run_id]
    run = factory.get(run_id)
    assert run.attempt == 2 and run.resume_checkpoint_id == latest
    # Requeued and placed again in the same tick, on the surviving worker.
    assert report.dispatched == [run_id] and run.state == "scheduled"
    [task] = queued_tasks(redis, prefix, survivor)
    assert task["attempt"] == 2 and task["resume_checkpoint_url"].endswith(f"{latest}/download")


def test_a_lost_run_that_used_up_its_restarts_fails_with_the_reason(make_scheduler, factory, clock):
    factory.worker("w1", slots=1)
    run_id = factory.run(max_restarts=0)
    scheduler = make_scheduler()
    scheduler.tick()
    clock.advance(60)
    report = scheduler.tick()
    assert report.failed == [run_id]
    run = factory.get(run_id)
    assert run.state == "failed" and "max_restarts (0)" in run.exit_reason


def test_scheduled_run_no_worker_started_is_requeued_after_the_dispatch_timeout(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler(dispatch_timeout_seconds=20)
    scheduler.tick()
    clock.advance(25)
    factory.heartbeat("w1")
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2


def test_sender_uses_the_task_name_not_the_worker_code():
    # The server side builds a plain Celery app: no task functions registered on it.
    from server.scheduler.dispatch import make_sender

    sender = make_sender("redis://127.0.0.1:6379/0", "x")
    assert isinstance(sender, Celery) and RUN_TASK not in sender.tasks


def test_a_running_run_its_live_worker_no_longer_holds_is_requeued(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    with factory.sessions() as s:
        run = s.get(Run, run_id)
        run.state = RunState.running.value
        run.started_at = clock.now
        s.commit()
    clock.advance(60)
    factory.heartbeat("w1")
    redis.set(worker_runs_key(prefix, "w1"), json.dumps([run_id]))
    assert scheduler.tick().requeued == []  # still held: left alone
    redis.set(worker_runs_key(prefix, "w1"), json.dumps([]))  # restarted, lost the run
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2
