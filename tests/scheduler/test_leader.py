"""The leader loop against a real database and Redis: one leader (decided in SQL), placements
recorded as fenced attempts before their tasks are sent, slots held until their processes are
known to be gone, and workers judged dead only over time in which they could be heard."""

import base64
import json
import socket
from datetime import timedelta

from celery import Celery
from redis import Redis
from sqlalchemy import select

from runyard.schemas import (
    RUN_TASK,
    AssignmentRecord,
    HeldAttempt,
    RunAssignment,
    RunState,
    WorkerBeat,
    assignment_key,
    worker_beat_key,
)
from server.artifacts.models import Checkpoint
from server.attempts.models import AttemptNode
from server.runs.models import Run, RunTransition
from server.runs.service import apply_state_event, transition


def queued_tasks(redis, prefix: str, worker: str) -> list[dict]:
    """Celery messages waiting in a worker's queue (kombu keeps a Redis list per queue)."""
    raw = redis.lrange(f"{prefix}:celery:worker.{worker}", 0, -1)
    bodies = []
    for message in (json.loads(m) for m in raw):
        assert message["headers"]["task"] == RUN_TASK
        bodies.append(json.loads(base64.b64decode(message["body"]))[0][0])
    return bodies


def dead_redis() -> Redis:
    """A client of a port nothing listens on: Redis is down, as far as it can tell."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.2)


def beat(redis, prefix, name, n, lost=(), incarnation="i-1"):
    redis.set(
        worker_beat_key(prefix, name),
        WorkerBeat(
            name=name,
            n=n,
            incarnation=incarnation,
            lost=[HeldAttempt(run_id=r, fence=f) for r, f in lost],
        ).model_dump_json(),
    )


def test_queued_run_is_placed_as_a_fenced_attempt_recorded_before_its_task_is_sent(
    make_scheduler, factory, redis, prefix
):
    factory.worker("w1", slots=2)
    run_id = factory.run(gpus=2)
    report = make_scheduler().tick()
    assert report.dispatched == [run_id]
    run = factory.get(run_id)
    assert run.state == "scheduled" and sorted(run.devices) == [0, 1]
    node = factory.node(run_id)
    assert node.worker_name == "w1" and node.slots == ["0", "1"] and node.released_at is None
    [task] = queued_tasks(redis, prefix, "w1")
    assignment = RunAssignment.model_validate(task)
    assert assignment.run_id == run_id and assignment.slots == ["0", "1"]
    assert assignment.fence == node.fence and assignment.lease_seconds == 22.5
    assert assignment.run_token.startswith("ry_run_")
    record = AssignmentRecord.model_validate_json(redis.get(assignment_key(prefix, run_id)))
    assert (record.fence, record.attempt, record.workers, record.ended) == (
        node.fence,
        1,
        ["w1"],
        False,
    )
    with factory.sessions() as s:
        reasons = s.scalars(select(RunTransition.to_state).where(RunTransition.run_id == run_id))
        assert list(reasons) == ["scheduled"]


def test_slots_of_scheduled_runs_are_not_given_out_again(make_scheduler, factory):
    factory.worker("w1", slots=2)
    first = factory.run(gpus=2)
    second = factory.run(gpus=1)
    scheduler = make_scheduler()
    assert scheduler.tick().dispatched == [first]
    assert scheduler.tick().dispatched == []
    assert factory.get(second).state == "queued"


def _one_slot_whose_run_ended(make_scheduler, factory, ended: RunState) -> tuple:
    """A one-slot worker whose accepted run has just ended, and a second run queued behind it;
    its node is not released yet. Returns the scheduler, the two runs."""
    factory.worker("w1", slots=1)
    first = factory.run()
    second = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    factory.accept(first)
    with factory.sessions() as s:
        transition(s, s.get(Run, first), ended, f"{ended.value} for the test")
        s.commit()
    return scheduler, first, second


def test_slots_of_an_ended_attempt_stay_held_until_its_worker_confirms_the_stop(
    make_scheduler, factory, clock
):
    scheduler, first, second = _one_slot_whose_run_ended(make_scheduler, factory, RunState.canceled)
    factory.heartbeat("w1")
    assert scheduler.tick().dispatched == []  # its processes may still be stopping
    with factory.sessions() as s:
        node = factory.node(first)
        s.add(node)
        node.released_at = clock.now  # the worker confirmed the stop
        s.commit()
    assert scheduler.tick().dispatched == [second]


def test_a_slot_released_while_a_tick_runs_is_given_out_dated_after_its_release(
    make_scheduler, factory, clock
):
    scheduler, first, second = _one_slot_whose_run_ended(
        make_scheduler, factory, RunState.completed
    )
    with factory.sessions() as s:
        node = factory.node(first)
        s.add(node)
        # The worker's confirmation lands after the next tick has read the clock, before it
        # reads the slots.
        node.released_at = clock.now + timedelta(seconds=0.5)
        released = node.released_at
        s.commit()
    factory.heartbeat("w1")
    clock.advance_per_reading = 1.0
    assert scheduler.tick().dispatched == [second]
    assert factory.node(second).dispatched_at >= released  # never two holders on record


def test_only_one_of_two_schedulers_leads_and_the_other_takes_over_when_it_stops(
    make_scheduler, factory, clock
):
    first, second = make_scheduler(), make_scheduler()
    assert first.tick().leading
    assert not second.tick().leading
    with factory.sessions() as s:
        first.leadership.release(s, clock.now)
    assert second.tick().leading
    assert not first.tick().leading


def test_a_leader_that_stalled_past_its_lease_writes_nothing_after_another_took_over(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=1)
    stalled, standby = make_scheduler(), make_scheduler()
    assert stalled.tick().leading
    clock.advance(11)  # past lock_ttl_seconds without a tick
    factory.heartbeat("w1")
    assert standby.tick().leading
    run_id = factory.run()
    report = stalled.tick()
    assert not report.leading and report.dispatched == []
    assert factory.get(run_id).state == "queued"


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
    assert all(t["num_nodes"] == 2 for t in tasks) and len({t["fence"] for t in tasks}) == 1


def test_dead_worker_gets_nothing(make_scheduler, factory):
    factory.worker("old", slots=4, heartbeat_age=120)
    run_id = factory.run()
    assert make_scheduler().tick().dispatched == []
    assert factory.get(run_id).state == "queued"


def _with_checkpoints(factory, run_id):
    with factory.sessions() as s:
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
        return s.scalar(select(Checkpoint.id).where(Checkpoint.step == 20))


def test_runs_of_a_worker_silent_past_its_lease_are_requeued_to_resume_from_their_last_checkpoint(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    factory.worker("w2", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    lost_worker = factory.node(run_id).worker_name
    survivor = {"w1": "w2", "w2": "w1"}[lost_worker]
    factory.accept(run_id)
    latest = _with_checkpoints(factory, run_id)
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
    old = AssignmentRecord.model_validate_json(redis.get(assignment_key(prefix, run_id)))
    assert old.attempt == 2 and old.workers == [survivor]


def test_silence_while_neither_the_server_nor_redis_could_hear_is_not_death(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    blind = make_scheduler(redis_client=dead_redis())
    factory.server_up()
    blind.tick()
    factory.accept(run_id)
    clock.advance(300)  # a five-minute outage of the server, and Redis unreachable
    assert blind.tick().requeued == []
    factory.server_up()  # the server is back: a grace period starts, not a verdict
    assert blind.tick().requeued == []
    clock.advance(25)
    factory.server_up()
    assert blind.tick().requeued == []
    clock.advance(6)
    factory.server_up()
    assert blind.tick().requeued == [run_id]  # silent for a whole timeout it could be heard


def test_a_worker_heard_only_over_redis_stays_alive_while_the_server_is_down(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    factory.accept(run_id)
    for n in range(1, 40):  # ten minutes without the server, beating every 15 s on Redis
        clock.advance(15)
        beat(redis, prefix, "w1", n)
        report = scheduler.tick()
        assert report.requeued == []
    assert factory.get(run_id).state == "running"


def test_an_attempt_its_worker_reports_lost_over_redis_is_requeued_at_once(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    fence = factory.accept(run_id)
    beat(redis, prefix, "w1", 1)
    scheduler.tick()
    clock.advance(1)
    beat(redis, prefix, "w1", 2, lost=[(run_id, fence)])
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2
    with factory.sessions() as s:
        reasons = s.scalars(
            select(RunTransition.reason).where(
                RunTransition.run_id == run_id, RunTransition.to_state == "queued"
            )
        ).all()
    assert any("gave it up" in r for r in reasons)


def test_a_running_run_whose_worker_restarted_is_requeued(make_scheduler, factory, clock):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    factory.accept(run_id, incarnation="i-1")
    factory.heartbeat("w1", incarnation="i-1")
    assert scheduler.tick().requeued == []  # same process: left alone
    factory.heartbeat("w1", incarnation="i-2")  # a new process, which does not hold it
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2


def test_losing_any_node_of_a_gang_requeues_the_whole_run(make_scheduler, factory, clock):
    factory.worker("w1", slots=1)
    factory.worker("w2", slots=1)
    run_id = factory.run(nodes=2)
    scheduler = make_scheduler()
    scheduler.tick()
    factory.accept(run_id)
    first_attempt = (factory.node(run_id, 0), factory.node(run_id, 1))
    clock.advance(60)
    factory.heartbeat(first_attempt[0].worker_name)  # rank 0's worker is fine; rank 1's is not
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2
    with factory.sessions() as s:
        rank0, rank1 = (s.get(AttemptNode, (n.fence, n.node_rank)) for n in first_attempt)
        # The dead worker's node is free; the live one stays held until it confirms the stop.
        assert rank1.released_at is not None and rank0.released_at is None


def test_a_lost_run_that_used_up_its_restarts_fails_with_the_reason(make_scheduler, factory, clock):
    factory.worker("w1", slots=1)
    run_id = factory.run(max_restarts=0)
    scheduler = make_scheduler()
    scheduler.tick()
    factory.accept(run_id)
    clock.advance(60)
    report = scheduler.tick()
    assert report.failed == [run_id]
    run = factory.get(run_id)
    assert run.state == "failed" and "max_restarts (0)" in run.exit_reason


def test_a_task_its_worker_never_took_is_sent_again_then_requeued_after_the_dispatch_timeout(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler(dispatch_timeout_seconds=40, redispatch_seconds=10)
    scheduler.tick()
    redis.delete(f"{prefix}:celery:worker.w1")  # the message was lost (a Redis restart)
    clock.advance(11)
    factory.heartbeat("w1")
    report = scheduler.tick()
    assert report.redispatched == [run_id] and report.requeued == []
    [task] = queued_tasks(redis, prefix, "w1")
    assert task["run_id"] == run_id and task["attempt"] == 1
    clock.advance(30)
    factory.heartbeat("w1")
    report = scheduler.tick()
    assert report.requeued == [run_id]
    assert factory.get(run_id).attempt == 2


def test_assignment_records_lost_with_redis_are_rewritten_from_sql(
    make_scheduler, factory, redis, prefix
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    scheduler = make_scheduler()
    scheduler.tick()
    redis.delete(assignment_key(prefix, run_id))
    scheduler.tick()
    record = AssignmentRecord.model_validate_json(redis.get(assignment_key(prefix, run_id)))
    assert record.fence == factory.node(run_id).fence


def test_sender_uses_the_task_name_not_the_worker_code():
    # The server side builds a plain Celery app: no task functions registered on it.
    from server.scheduler.dispatch import make_sender

    sender = make_sender("redis://127.0.0.1:6379/0", "x")
    assert isinstance(sender, Celery) and RUN_TASK not in sender.tasks


def _running_for(factory, clock, scheduler, run_id, seconds=400):
    scheduler.tick()
    factory.accept(run_id)
    clock.advance(seconds)
    factory.heartbeat(factory.node(run_id).worker_name)


def test_a_higher_priority_run_that_cannot_fit_has_a_lower_priority_run_make_room(
    make_scheduler, factory, clock, redis, prefix
):
    factory.worker("w1", slots=1)
    low = factory.run(priority=0)
    scheduler = make_scheduler()
    _running_for(factory, clock, scheduler, low)
    high = factory.run(priority=10)
    report = scheduler.tick()
    assert report.preempted == [low] and report.dispatched == []
    victim = factory.get(low)
    assert victim.preempt_reason == f"preempted for run {high} (priority 10)"
    record = AssignmentRecord.model_validate_json(redis.get(assignment_key(prefix, low)))
    assert record.preempt == victim.preempt_reason
    assert scheduler.tick().preempted == []  # asked once; the slot is still held

    # The worker checkpointed, stopped, and sent the attempt back to the queue.
    fence = factory.node(low).fence
    with factory.sessions() as s:
        assert apply_state_event(
            s, low, 1, RunState.queued, victim.preempt_reason, fence=fence, worker="w1"
        )
        s.commit()
    back = factory.get(low)
    assert (back.state, back.attempt, back.restarts) == ("queued", 2, 0)
    assert scheduler.tick().dispatched == [high]  # the freed slot goes to the urgent run
    with factory.sessions() as s:
        reasons = s.scalars(
            select(RunTransition.reason).where(
                RunTransition.run_id == low, RunTransition.to_state == "queued"
            )
        ).all()
    assert f"preempted for run {high} (priority 10)" in reasons


def test_a_run_is_not_sent_back_to_the_queue_unless_its_preemption_was_asked_for(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    _running_for(factory, clock, make_scheduler(), run_id)
    fence = factory.node(run_id).fence
    with factory.sessions() as s:
        assert not apply_state_event(s, run_id, 1, RunState.queued, "x", fence=fence, worker="w1")
        s.commit()
    assert factory.get(run_id).state == "running"


def test_non_preemptible_young_or_rate_limited_runs_are_never_chosen(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=1)
    factory.worker("w2", slots=1)
    guarded = factory.run(priority=0, preemptible=False)
    young = factory.run(priority=0)
    scheduler = make_scheduler(preemption_min_runtime_seconds=300)
    scheduler.tick()
    factory.accept(guarded)
    factory.accept(young)
    clock.advance(100)  # `young` has run 100 s only
    factory.heartbeat("w1")
    factory.heartbeat("w2")
    factory.run(priority=10)
    assert scheduler.tick().preempted == []
    clock.advance(300)
    factory.heartbeat("w1")
    factory.heartbeat("w2")
    assert scheduler.tick().preempted == [young]  # old enough now; never the guarded one


def test_no_preemption_past_the_hourly_rate(make_scheduler, factory, clock):
    factory.worker("w1", slots=1)
    low = factory.run(priority=0)
    scheduler = make_scheduler(preemption_max_per_hour=0)
    _running_for(factory, clock, scheduler, low)
    factory.run(priority=10)
    assert scheduler.tick().preempted == []


def test_a_user_below_their_fair_share_reclaims_a_slot_from_one_above_it(
    make_scheduler, factory, clock
):
    bob = factory.user("bob")
    ann = factory.user("ann")
    for name in ("w1", "w2"):
        factory.worker(name, slots=1)
    bobs = [factory.run(owner=bob), factory.run(owner=bob)]
    scheduler = make_scheduler()
    scheduler.tick()
    for run_id in bobs:
        factory.accept(run_id)
    clock.advance(400)
    factory.heartbeat("w1")
    factory.heartbeat("w2")
    waiting = factory.run(owner=ann)  # same priority: only fair share can make room
    report = scheduler.tick()
    assert len(report.preempted) == 1 and report.preempted[0] in bobs
    reason = factory.get(report.preempted[0]).preempt_reason
    assert reason.startswith(f"preempted for run {waiting} (fair share")
