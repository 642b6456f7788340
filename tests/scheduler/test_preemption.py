"""The preemption policy as a pure function: who gives way, for whom, and how little."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from server.scheduler.placement import NodePlacement, QueuedRun, WorkerState
from server.scheduler.preemption import (
    PreemptionPolicy,
    RunningRun,
    fits,
    plan_preemptions,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = PreemptionPolicy(min_runtime_seconds=60, budget=10)


def queued(run_id="hi", user="ann", priority=10, slots=1, nodes=1) -> QueuedRun:
    return QueuedRun(run_id, user, "p", priority, slots, nodes, NOW)


def running(run_id, worker="w1", slots=("0",), user="bob", priority=0, **kw) -> RunningRun:
    fields = {"running_seconds": 600.0, "seconds_since_checkpoint": 30.0} | kw
    return RunningRun(run_id, user, priority, (NodePlacement(worker, tuple(slots)),), **fields)


def full(*names: str, slots: int = 1) -> list[WorkerState]:
    all_slots = tuple(str(i) for i in range(slots))
    return [WorkerState(name, all_slots, ()) for name in names]


def test_a_higher_priority_run_takes_the_slot_of_the_cheapest_lower_priority_run():
    victims = [
        running("expensive", "w1", seconds_since_checkpoint=900),
        running("cheap", "w2", seconds_since_checkpoint=10),
    ]
    [chosen] = plan_preemptions([queued()], full("w1", "w2"), victims, POLICY)
    assert chosen.victim == "cheap" and chosen.for_run == "hi"
    assert chosen.reason == "preempted for run hi (priority 10)"


def test_equal_or_higher_priority_runs_of_users_at_or_below_their_share_are_left_alone():
    same = running("same", priority=10, user="ann")
    assert plan_preemptions([queued()], full("w1"), [same], POLICY) == []


def test_a_non_preemptible_run_is_never_chosen():
    guarded = running("guarded", preemptible=False)
    assert plan_preemptions([queued()], full("w1"), [guarded], POLICY) == []


def test_a_run_younger_than_the_minimum_runtime_is_never_chosen():
    young = running("young", running_seconds=5)
    assert plan_preemptions([queued()], full("w1"), [young], POLICY) == []


def test_nothing_is_preempted_while_another_preemption_is_under_way_or_past_the_budget():
    busy = [running("a", "w1", preempting=True), running("b", "w2")]
    assert plan_preemptions([queued()], full("w1", "w2"), busy, POLICY) == []
    spent = PreemptionPolicy(min_runtime_seconds=60, budget=0)
    assert plan_preemptions([queued()], full("w1"), [running("b")], spent) == []


def test_a_gang_victim_frees_every_node_together():
    gang = RunningRun(
        "gang",
        "bob",
        0,
        (NodePlacement("w1", ("0",)), NodePlacement("w2", ("0",))),
        running_seconds=600,
        seconds_since_checkpoint=5,
    )
    [chosen] = plan_preemptions([queued(nodes=2)], full("w1", "w2"), [gang], POLICY)
    assert chosen.victim == "gang"


def test_fair_share_reclaims_from_a_user_over_their_share_for_one_below_it():
    # Four slots, two users with work: a share is two. Bob holds all four.
    bobs = [running(f"b{i}", f"w{i}", user="bob", priority=0) for i in range(4)]
    [chosen] = plan_preemptions([queued(priority=0)], full("w0", "w1", "w2", "w3"), bobs, POLICY)
    assert chosen.victim.startswith("b") and "fair share" in chosen.reason
    off = PreemptionPolicy(min_runtime_seconds=60, budget=10, fair_share=False)
    assert plan_preemptions([queued(priority=0)], full("w0", "w1", "w2", "w3"), bobs, off) == []


def test_fair_share_never_reclaims_for_a_user_already_at_their_share():
    # Two slots, two users with work: a share is one; cy holds hers and wants another.
    held = [running("b0", "w0", user="bob"), running("c1", "w1", user="cy")]
    assert plan_preemptions([queued(priority=0, user="cy")], full("w0", "w1"), held, POLICY) == []


runs_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),  # worker
        st.integers(1, 2),  # slots
        st.integers(-1, 2),  # priority
        st.floats(0, 1000),  # seconds since checkpoint
        st.booleans(),  # preemptible
        st.floats(0, 1000),  # running seconds
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    runs=runs_strategy,
    need=st.integers(1, 2),
    nodes=st.integers(1, 2),
    priority=st.integers(0, 3),
)
def test_the_chosen_set_is_allowed_sufficient_and_minimal(runs, need, nodes, priority):
    workers = [WorkerState(f"w{i}", ("0", "1"), ("0", "1")) for i in range(4)]
    used = {w.name: 0 for w in workers}
    victims = []
    for index, (w, slots, prio, since, preemptible, age) in enumerate(runs):
        name = f"w{w}"
        if used[name] + slots > 2:
            continue
        held = tuple(str(used[name] + k) for k in range(slots))
        used[name] += slots
        victims.append(
            RunningRun(
                f"r{index}",
                "bob",
                prio,
                (NodePlacement(name, held),),
                running_seconds=age,
                seconds_since_checkpoint=since,
                preemptible=preemptible,
            )
        )
    workers = [
        WorkerState(w.name, w.slots, tuple(str(s) for s in range(used[w.name], 2))) for w in workers
    ]
    run = queued(priority=priority, slots=need, nodes=nodes)
    chosen = plan_preemptions([run], workers, victims, PreemptionPolicy(60, 10, False))
    by_id = {v.id: v for v in victims}
    free = {w.name: len(w.free) for w in workers}
    if fits(run, free):
        assert chosen == []  # it fits without anyone giving way
        return
    for preemption in chosen:
        victim = by_id[preemption.victim]
        assert victim.preemptible and victim.running_seconds >= 60
        assert victim.priority < priority
    freed = dict(free)
    for preemption in chosen:
        for node in by_id[preemption.victim].nodes:
            freed[node.worker] += len(node.slots)
    if chosen:
        assert fits(run, freed)
        for spared in chosen:
            without = dict(freed)
            for node in by_id[spared.victim].nodes:
                without[node.worker] -= len(node.slots)
            assert not fits(run, without), "a victim could have been spared"
    else:
        # Nothing chosen: then even every eligible victim together would not make it fit.
        everyone = dict(free)
        for v in victims:
            if v.preemptible and v.running_seconds >= 60 and v.priority < priority:
                for node in v.nodes:
                    everyone[node.worker] += len(node.slots)
        assert not fits(run, everyone)
