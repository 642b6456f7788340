"""ASHA's decisions (server/experiments/asha.py) against the paper's Algorithm 2 as written
(tests/server/asha_reference.py), over asynchronous schedules: jobs finish in any order, with
ties and NaN among the results, and as many at once as the search may run."""

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from server.experiments.asha import (
    Action,
    Policy,
    Promote,
    Result,
    Start,
    Stop,
    TrialView,
    get_job,
    plan,
    rung_budgets,
)
from tests.server.asha_reference import ReferenceAsha

# Few distinct values, so ties are common; NaN is a diverged trial.
metric_values = st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0, 2.0, -1.0, math.nan])


class Search:
    """The search as Runyard holds it: one view per trial, as the database gives them."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.trials = {i: TrialView(index=i) for i in range(policy.num_trials)}
        self.running: list[tuple[int, int]] = []  # (trial, rung it trains for)
        self.recorded = 0

    def views(self) -> list[TrialView]:
        return list(self.trials.values())

    def begin(self, action: Promote | Start) -> None:
        rung = action.rung if isinstance(action, Promote) else 0
        self.trials[action.trial] = replace(self.trials[action.trial], rung=rung, active=True)
        self.running.append((action.trial, rung))

    def finish(self, position: int, value: float) -> tuple[int, int]:
        trial, rung = self.running.pop(position)
        view = self.trials[trial]
        self.recorded += 1
        results = dict(view.results) | {rung: Result(value, self.recorded)}
        at_top = rung == self.policy.top_rung
        self.trials[trial] = replace(view, active=False, finished=at_top, results=results)
        return trial, rung

    def stop(self, action: Stop) -> None:
        self.trials[action.trial] = replace(self.trials[action.trial], finished=True)


def loss(policy: Policy, value: float) -> float:
    return value if policy.mode == "min" or math.isnan(value) else -value


def as_reference_job(action: Promote | Start | None) -> tuple[int, int] | None:
    if action is None:
        return None
    return (action.trial, action.rung) if isinstance(action, Promote) else (action.trial, 0)


policies = st.builds(
    Policy,
    top_rung=st.integers(1, 3),
    reduction_factor=st.integers(2, 4),
    mode=st.sampled_from(["min", "max"]),
    num_trials=st.integers(1, 24),
)


@settings(max_examples=300, deadline=None)
@given(policy=policies, concurrency=st.integers(1, 5), data=st.data())
def test_get_job_matches_the_papers_algorithm_on_any_asynchronous_schedule(
    policy: Policy, concurrency: int, data: st.DataObject
) -> None:
    ours = Search(policy)
    paper = ReferenceAsha(policy.top_rung, policy.reduction_factor, policy.num_trials)
    for _ in range(400):
        slot_free = len(ours.running) < concurrency
        if slot_free and (not ours.running or data.draw(st.booleans(), label="ask for a job")):
            job = get_job(policy, ours.views())
            assert as_reference_job(job) == paper.get_job()
            if job is None:
                if not ours.running:
                    return
            else:
                ours.begin(job)
            continue
        position = data.draw(st.integers(0, len(ours.running) - 1), label="job that finishes")
        value = data.draw(metric_values, label="its metric")
        trial, rung = ours.finish(position, value)
        paper.report(trial, rung, loss(policy, value))


@settings(max_examples=300, deadline=None)
@given(policy=policies, concurrency=st.integers(1, 5), data=st.data())
def test_plan_fills_the_free_slots_as_the_paper_would_and_stops_the_rest_once_idle(
    policy: Policy, concurrency: int, data: st.DataObject
) -> None:
    ours = Search(policy)
    paper = ReferenceAsha(policy.top_rung, policy.reduction_factor, policy.num_trials)
    while True:
        actions = plan(policy, ours.views(), concurrency - len(ours.running))
        jobs = [a for a in actions if not isinstance(a, Stop)]
        stops = [a for a in actions if isinstance(a, Stop)]
        expected = [paper.get_job() for _ in jobs]
        assert [as_reference_job(j) for j in jobs] == expected
        if len(jobs) < concurrency - len(ours.running):
            assert paper.get_job() is None  # it stopped asking only because there was nothing
        for job in jobs:
            ours.begin(job)
        if stops:
            assert not ours.running
            # The paper's search is over: every configuration below the top that its last
            # rung did not promote is left where it is; Runyard stops exactly those.
            waiting = {
                (config, k)
                for k, rung in paper.rungs.items()
                for config, _ in rung
                if k < policy.top_rung and config not in paper.promoted.get(k, set())
            }
            assert {(s.trial, s.rung) for s in stops} == waiting
            for stop in stops:
                ours.stop(stop)
        if not ours.running:
            break
        position = data.draw(st.integers(0, len(ours.running) - 1), label="job that finishes")
        value = data.draw(metric_values, label="its metric")
        trial, rung = ours.finish(position, value)
        paper.report(trial, rung, loss(policy, value))
    assert all(t.finished for t in ours.views() if t.rung is not None)
    assert plan(policy, ours.views(), concurrency) == []


@settings(max_examples=200, deadline=None)
@given(policy=policies, concurrency=st.integers(1, 5), data=st.data())
def test_each_promotion_is_of_a_trial_in_the_top_fraction_of_its_rung_at_that_moment(
    policy: Policy, concurrency: int, data: st.DataObject
) -> None:
    ours = Search(policy)
    while True:
        for action in plan(policy, ours.views(), concurrency - len(ours.running)):
            if isinstance(action, Promote):
                below = action.rung - 1
                ranked = sorted(
                    (t for t in ours.views() if below in t.results),
                    key=lambda t: policy.loss(t.results[below]),
                )
                top = ranked[: len(ranked) // policy.reduction_factor]
                assert action.trial in {t.index for t in top}
                assert ours.trials[action.trial].rung == below  # not promoted before
            if isinstance(action, Stop):
                ours.stop(action)
            else:
                ours.begin(action)
        if not ours.running:
            break
        position = data.draw(st.integers(0, len(ours.running) - 1))
        ours.finish(position, data.draw(metric_values))


@settings(max_examples=200, deadline=None)
@given(policy=policies, concurrency=st.integers(1, 5), data=st.data())
def test_a_search_of_eta_to_the_top_trials_brings_one_to_the_top_and_stops_the_others_early(
    policy: Policy, concurrency: int, data: st.DataObject
) -> None:
    policy = replace(
        policy, num_trials=max(policy.num_trials, policy.reduction_factor**policy.top_rung)
    )
    ours = Search(policy)
    stopped: list[Action] = []
    while True:
        for action in plan(policy, ours.views(), concurrency - len(ours.running)):
            if isinstance(action, Stop):
                stopped.append(action)
                ours.stop(action)
            else:
                ours.begin(action)
        if not ours.running:
            break
        ours.finish(data.draw(st.integers(0, len(ours.running) - 1)), data.draw(metric_values))
    views = ours.views()
    assert all(t.rung is not None and t.finished for t in views)  # every trial ran, and ended
    assert any(t.rung == policy.top_rung for t in views)
    assert len(stopped) == sum(1 for t in views if t.rung != policy.top_rung) > 0


def test_nine_trials_one_at_a_time_promote_the_best_third_of_each_rung() -> None:
    """A worked example: eta 3, rungs 0..2, one slot, val_acc (max) known for each trial."""
    policy = Policy(top_rung=2, reduction_factor=3, mode="max", num_trials=9)
    accuracy = [0.50, 0.90, 0.70, 0.95, 0.10, 0.60, 0.80, 0.20, 0.30]
    ours = Search(policy)
    order = []
    while True:
        actions = plan(policy, ours.views(), 1 - len(ours.running))
        for action in actions:
            if isinstance(action, Stop):
                ours.stop(action)
            else:
                ours.begin(action)
        order.extend(actions)
        if not ours.running:
            break
        trial, _ = ours.running[0]
        ours.finish(0, accuracy[trial] + 0.01 * ours.trials[trial].rung)  # type: ignore[operator]
    # Rung 0 promotes its best third as it grows: 1 at 3 results, 3 at 4, and 6 only at 9
    # (its top 3: 3, 1, 6). Once rung 1 has 3 results its best (3) goes to the top; then the
    # search is idle and every other trial stops where it waits.
    assert order[:4] == [Start(0), Start(1), Start(2), Promote(1, 1)]
    assert Promote(3, 1) in order and Promote(6, 1) in order
    promoted_to_top = [a for a in order if isinstance(a, Promote) and a.rung == 2]
    assert promoted_to_top == [Promote(3, 2)]
    stops = {(a.trial, a.rung) for a in order if isinstance(a, Stop)}
    assert stops == {(0, 0), (2, 0), (4, 0), (5, 0), (7, 0), (8, 0), (1, 1), (6, 1)}


@given(
    grace=st.integers(1, 10),
    eta=st.integers(2, 5),
    max_epochs=st.integers(2, 500),
)
def test_rungs_grow_by_the_reduction_factor_from_the_grace_period_up_to_max_epochs(
    grace: int, eta: int, max_epochs: int
) -> None:
    budgets = rung_budgets(grace, eta, max_epochs)
    assert budgets[-1] == max_epochs
    below_top = budgets[:-1]
    assert list(below_top) == [grace * eta**k for k in range(len(below_top))]
    assert all(b < max_epochs for b in below_top)
    assert grace * eta ** len(below_top) >= max_epochs or grace >= max_epochs
