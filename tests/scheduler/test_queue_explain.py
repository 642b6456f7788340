"""Why a queued run waits and for about how long, as a pure function of the scheduler's inputs
and decision."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from server.scheduler.placement import QueuedRun, Quotas, WorkerState, decide, scheduling_order
from server.scheduler.queue_explain import Holding, explain, remaining_seconds

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(run_id, user="ann", priority=0, slots=1, nodes=1) -> QueuedRun:
    return QueuedRun(run_id, user, "p", priority, slots, nodes, NOW)


def worker(name, size=2, free=0) -> WorkerState:
    slots = tuple(str(i) for i in range(size))
    return WorkerState(name, slots, slots[:free])


def why(queued, workers, running=(), typical=None, quotas=None, usage=None, preempting=None):
    order = scheduling_order(queued)
    decision = decide(queued, workers, quotas=quotas, user_usage=usage)
    return {
        w.run_id: w
        for w in explain(
            order,
            queued,
            workers,
            decision,
            quotas=quotas or Quotas(),
            user_usage=usage or {},
            project_usage={},
            running=list(running),
            typical_seconds=typical,
            preempting_for=preempting,
        )
    }


def test_a_run_that_fits_is_starting_now():
    got = why([run("a")], [worker("w1", free=2)])["a"]
    assert (got.reason, got.wait_seconds, got.position, got.user_position) == ("starting", 0, 1, 1)


def test_positions_count_the_cluster_order_and_the_users_own():
    queued = [run("a1", "ann"), run("b1", "bob"), run("a2", "ann")]
    got = why(queued, [worker("w1", free=0)])
    assert got["a2"].user_position == 2 and got["b1"].user_position == 1
    assert sorted(w.position for w in got.values()) == [1, 2, 3]


def test_a_single_slot_run_on_a_full_cluster_waits_for_a_free_slot():
    got = why([run("a")], [worker("w1", size=4, free=0)])["a"]
    assert got.reason == "no_node_with_free_slots"
    assert "no worker has 1 free slot(s)" in got.note and "largest worker has 4" in got.note


def test_a_bigger_run_holds_the_worker_it_waits_for():
    got = why([run("a", slots=2)], [worker("w1", size=4, free=1)])["a"]
    assert got.reason == "reserved" and "holding w1 while it drains to 2" in got.note


def test_a_gang_says_how_many_more_nodes_it_needs():
    got = why([run("g", nodes=3)], [worker("w1", free=1), worker("w2"), worker("w3")])["g"]
    assert got.reason == "gang_waiting" and "1 worker(s) have that now, 2 more needed" in got.note


def test_a_quota_says_how_much_is_used_and_has_no_estimate():
    quotas = Quotas(per_user={"ann": 1})
    got = why([run("a")], [worker("w1", free=2)], quotas=quotas, usage={"ann": 1})["a"]
    assert got.reason == "over_quota" and "holds 1 of a 1-slot quota" in got.note
    assert got.wait_seconds is None


def test_a_run_being_made_room_for_says_so():
    got = why([run("hi", priority=5)], [worker("w1")], preempting={"hi": 1})["hi"]
    assert got.reason == "preempting" and "1 run(s) are checkpointing" in got.note


def test_the_estimate_follows_the_running_runs_ends_in_queue_order():
    running = [
        Holding({"w1": 1}, remaining_seconds=100),
        Holding({"w1": 1}, remaining_seconds=300),
    ]
    got = why([run("first"), run("second")], [worker("w1")], running, typical=50)
    assert got["first"].wait_seconds == 100
    # The first takes the slot freed at 100 s and holds it for 50 s, which beats 300 s.
    assert got["second"].wait_seconds == 150


def test_without_any_progress_to_go_on_there_is_no_estimate():
    got = why([run("a")], [worker("w1")], [Holding({"w1": 2}, remaining_seconds=None)])["a"]
    assert got.wait_seconds is None


def test_remaining_time_extrapolates_the_progress_so_far():
    assert remaining_seconds(elapsed=60, done=2, planned=5) == 90
    assert remaining_seconds(elapsed=60, done=0, planned=5) is None
    assert remaining_seconds(elapsed=60, done=5, planned=5) == 0


_queued = st.builds(
    QueuedRun,
    id=st.uuids().map(str),
    user=st.sampled_from(["ann", "bob", "cy"]),
    project=st.sampled_from(["p", "q"]),
    priority=st.integers(-2, 2),
    slots_per_node=st.integers(1, 4),
    nodes=st.integers(1, 3),
    queued_at=st.datetimes(),
)


@settings(max_examples=50, deadline=None)
@given(
    queued=st.lists(_queued, max_size=30, unique_by=lambda r: r.id),
    history=st.dictionaries(st.sampled_from(["ann", "bob", "cy"]), st.floats(0, 1e6)),
)
def test_scheduling_order_lists_every_queued_run_once_by_priority(
    queued: list[QueuedRun], history: dict[str, float]
) -> None:
    order = scheduling_order(queued, history)

    assert sorted(order) == sorted(r.id for r in queued)
    priority = {r.id: r.priority for r in queued}
    assert [priority[i] for i in order] == sorted((priority[i] for i in order), reverse=True)


@settings(max_examples=100, deadline=None)
@given(
    queued=st.lists(_queued, max_size=30, unique_by=lambda r: r.id),
    history=st.dictionaries(st.sampled_from(["ann", "bob", "cy"]), st.floats(0, 1e6)),
)
def test_scheduling_order_is_the_order_decide_places_runs_in_on_a_roomy_cluster(
    queued: list[QueuedRun], history: dict[str, float]
) -> None:
    # A cluster big enough for every run at once and no quotas: `decide` places each run in
    # its turn, so its assignments are the queue's order.
    capacity = tuple(str(i) for i in range(sum(max(r.slots_per_node, 1) for r in queued)))
    nodes = max((r.nodes for r in queued), default=0)
    roomy = [WorkerState(f"order-{i}", capacity, capacity) for i in range(nodes)]
    placed = decide(queued, roomy, recent_gpu_seconds=history).assignments

    assert scheduling_order(queued, history) == [a.run_id for a in placed]
