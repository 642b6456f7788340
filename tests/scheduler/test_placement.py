"""Placement rules as specifications: gang reservation, priorities, fair share, quotas,
backfill without starvation, and never a slot twice."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from server.scheduler.placement import Quotas, WorkerState, decide
from tests.scheduler.simulation import SimCluster

USERS = ("alice", "bob", "carol")


def test_single_node_run_gets_all_its_slots_on_one_worker():
    sim = SimCluster(workers={"w1": ("0", "1"), "w2": ("0", "1", "2", "3")})
    run = sim.submit("alice", slots=3)
    decision = sim.tick()
    [assignment] = decision.assignments
    assert assignment.run_id == run
    assert [n.worker for n in assignment.nodes] == ["w2"]
    assert len(assignment.nodes[0].slots) == 3


def test_multi_node_run_is_placed_on_distinct_workers_or_not_at_all():
    sim = SimCluster(workers={"w1": ("0", "1"), "w2": ("0", "1"), "w3": ("0",)})
    big = sim.submit("alice", slots=2, nodes=3)
    assert sim.tick().assignments == []  # only two workers have 2 slots: nothing partial
    pair = sim.submit("alice", slots=2, nodes=2)
    [assignment] = sim.tick().assignments
    assert assignment.run_id == pair
    assert sorted(n.worker for n in assignment.nodes) == ["w1", "w2"]
    assert big in sim.queued


def test_run_bigger_than_every_worker_is_reported_with_a_hint():
    sim = SimCluster(workers={"w1": ("0", "1")})
    run = sim.submit("alice", slots=4)
    decision = sim.tick()
    assert "gpus_per_node" in decision.unplaceable[run]


def test_dead_workers_get_nothing():
    sim = SimCluster(workers={})
    sim.submit("alice")
    dead = WorkerState("gone", ("0",), ("0",), alive=False)
    assert decide(sim.queued.values(), [dead]).assignments == []


def test_higher_priority_runs_start_before_older_lower_priority_runs():
    sim = SimCluster(workers={"w1": ("0", "1")})
    low = [sim.submit("alice", priority=0) for _ in range(3)]
    high = [sim.submit("bob", priority=5) for _ in range(2)]
    sim.tick()
    assert set(sim.running) == set(high)
    assert set(low) <= set(sim.queued)


def test_two_users_submitting_ten_runs_each_alternate():
    sim = SimCluster(workers={"w1": ("0",)})
    for _ in range(10):
        sim.submit("alice")
    for _ in range(10):
        sim.submit("bob")
    owners = []
    while sim.queued:
        [assignment] = sim.tick().assignments
        owners.append(sim.running[assignment.run_id][0].user)
        sim.finish(assignment.run_id)
    assert owners == ["alice", "bob"] * 10


def test_fair_share_alternates_users_within_one_decision():
    sim = SimCluster(workers={"w1": ("0", "1", "2", "3")})
    for _ in range(10):
        sim.submit("alice")
    for _ in range(10):
        sim.submit("bob")
    sim.tick()
    assert Counter(run.user for run, _ in sim.running.values()) == {"alice": 2, "bob": 2}


def test_user_with_less_recent_gpu_time_goes_first():
    sim = SimCluster(workers={"w1": ("0",)})
    sim.gpu_seconds = {"alice": 500.0, "bob": 10.0}
    sim.submit("alice")
    bob_run = sim.submit("bob")
    sim.tick()
    assert list(sim.running) == [bob_run]


def test_user_quota_leaves_extra_runs_queued_while_others_use_the_slots():
    sim = SimCluster(workers={"w1": ("0", "1", "2", "3")}, quotas=Quotas(per_user={"alice": 2}))
    for _ in range(4):
        sim.submit("alice")
    bob_run = sim.submit("bob")
    sim.tick()
    assert sim.usage("user") == {"alice": 2, "bob": 1}
    assert bob_run in sim.running


def test_project_quota_counts_every_member():
    sim = SimCluster(workers={"w1": ("0", "1", "2", "3")}, quotas=Quotas(per_project={"p": 3}))
    for user in ("alice", "bob", "alice", "bob"):
        sim.submit(user, project="p")
    sim.submit("carol", project="q")
    sim.tick()
    assert sim.usage("project") == {"p": 3, "q": 1}


def test_backfill_uses_only_workers_not_reserved_for_a_blocked_big_run():
    sim = SimCluster(workers={"w1": ("0", "1"), "w2": ("0", "1")})
    first = sim.submit("bob")  # occupies one slot of some worker
    sim.tick()
    big = sim.submit("alice", slots=2, nodes=2)
    small = sim.submit("carol")
    decision = sim.tick()
    assert set(decision.reserved[big]) == {"w1", "w2"}
    assert small in sim.queued  # backfilling it would delay the big run
    sim.finish(first)
    sim.tick()
    assert big in sim.running


def test_two_large_runs_do_not_deadlock_each_holding_half():
    sim = SimCluster(workers={"w1": ("0", "1"), "w2": ("0", "1")})
    fillers = [sim.submit("carol") for _ in range(4)]
    sim.tick()
    first = sim.submit("alice", slots=2, nodes=2)
    second = sim.submit("bob", slots=2, nodes=2)
    for filler in fillers:
        sim.finish(filler)
    sim.tick()
    assert first in sim.running and second in sim.queued
    sim.finish(first)
    sim.tick()
    assert second in sim.running


@settings(max_examples=30, deadline=None)
@given(durations=st.lists(st.integers(1, 4), min_size=60, max_size=60), arrivals=st.data())
def test_two_slot_run_is_never_starved_by_a_stream_of_one_slot_runs(durations, arrivals):
    sim = SimCluster(workers={"w1": ("0", "1"), "w2": ("0", "1")})
    remaining: dict[str, int] = {}
    stream = iter(durations)
    for _ in range(4):
        remaining[sim.submit("bob")] = next(stream)
    big = None
    for tick in range(60):
        if tick == 2:
            big = sim.submit("alice", slots=2)
        # The stream never dries up: at least one new 1-slot run every tick.
        for _ in range(arrivals.draw(st.integers(1, 2))):
            remaining[sim.submit("bob")] = next(stream, 1)
        sim.tick()
        if big in sim.running:
            break
        for run_id in list(sim.running):
            remaining[run_id] -= 1
            if remaining[run_id] == 0:
                sim.finish(run_id)
    assert big in sim.running  # started within the 60 ticks, well before the stream ends


def _actions():
    submit = st.tuples(
        st.just("submit"),
        st.sampled_from(USERS),
        st.integers(1, 3),  # slots per node
        st.integers(1, 2),  # nodes
        st.integers(-1, 1),  # priority
    )
    finish = st.tuples(st.just("finish"), st.integers(0, 10_000))
    return st.lists(
        st.one_of(submit, submit, finish, st.just(("tick",))), min_size=200, max_size=200
    )


@settings(max_examples=40, deadline=None)
@given(actions=_actions(), capacities=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_no_slot_is_double_booked_and_quotas_hold_across_random_histories(actions, capacities):
    workers = {f"w{i}": tuple(str(s) for s in range(c)) for i, c in enumerate(capacities)}
    quotas = Quotas(per_user={"alice": 3}, per_project={"p": 6})
    sim = SimCluster(workers=workers, quotas=quotas)
    for action in actions:
        if action[0] == "submit":
            _, user, slots, nodes, priority = action
            sim.submit(user, slots=slots, nodes=nodes, priority=priority)
        elif action[0] == "finish":
            # Completion of a running run, or cancellation of a queued one.
            pool = sorted(sim.running) + sorted(sim.queued)
            if pool:
                sim.finish(pool[action[1] % len(pool)])
        else:
            free_before = {w.name: set(w.free) for w in sim.worker_states()}
            decision = sim.tick()
            for assignment in decision.assignments:
                assert len({n.worker for n in assignment.nodes}) == len(assignment.nodes)
                for node in assignment.nodes:
                    assert set(node.slots) <= free_before[node.worker]
            held = sim.held_slots()
            assert len(held) == len(set(held)), "a slot was assigned twice"
            assert sim.usage("user").get("alice", 0) <= 3
            assert sim.usage("project").get("p", 0) <= 6


@settings(max_examples=40, deadline=None)
@given(
    priorities=st.lists(st.integers(-3, 3), min_size=2, max_size=20),
    free_slots=st.integers(1, 6),
)
def test_a_run_never_waits_while_a_lower_priority_run_of_its_size_starts(priorities, free_slots):
    sim = SimCluster(workers={"w1": tuple(str(i) for i in range(free_slots))})
    ids = {sim.submit(USERS[i % 3], priority=p): p for i, p in enumerate(priorities)}
    sim.tick()
    started = [ids[r] for r in sim.running]
    waiting = [ids[r] for r in sim.queued]
    if started and waiting:
        assert min(started) >= max(waiting)
