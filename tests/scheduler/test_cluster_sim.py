"""The cluster simulation (bench/cluster_sim.py) keeps the books of a real cluster: on a tiny
cluster, under every policy, no GPU is held twice, every job is accounted for, and the
figures it prints stay in their ranges."""

import random

import pytest

from bench.cluster_sim import fairness, jain, percentile, waits
from bench.cluster_sim_engine import POLICIES, ClusterSim, Outcome, Policy, SimConfig
from bench.cluster_sim_workload import Job, generate

DAY = 24 * 3600.0
# Eight nodes hold the largest job (64 GPUs); an offered load above capacity builds a queue,
# so priorities, fair share and preemption all have something to decide.
TINY = SimConfig(nodes=8, warmup_seconds=0.1 * DAY, end_seconds=0.6 * DAY)


def simulate(policy: Policy, config: SimConfig = TINY, seed: int = 7) -> tuple[Outcome, list[Job]]:
    jobs = generate(random.Random(seed), gpus=config.gpus, days=config.end_seconds / DAY, load=1.4)
    return ClusterSim(config, policy, jobs).run(), jobs


def held_once(outcome: Outcome, config: SimConfig) -> bool:
    slots = [str(s) for s in range(config.node_gpus)]
    return all(sorted(free, key=int) == slots for free in outcome.free_at_end.values())


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_no_gpu_is_double_booked_and_every_job_is_done_running_or_queued(policy):
    outcome, jobs = simulate(policy)

    assert outcome.double_booked == 0
    done = {r.job.id for r in outcome.records.values() if r.finished is not None}
    assert done.isdisjoint(outcome.queued_at_end | outcome.running_at_end)
    assert outcome.queued_at_end.isdisjoint(outcome.running_at_end)
    assert done | outcome.queued_at_end | outcome.running_at_end == {j.id for j in jobs}
    held = sum(outcome.records[r].job.gpus for r in outcome.running_at_end)
    assert held + sum(len(f) for f in outcome.free_at_end.values()) == TINY.gpus


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_drained_every_job_finishes_and_every_gpu_is_free_once(policy):
    outcome, _ = simulate(policy, SimConfig(nodes=8, end_seconds=0.3 * DAY, drain=True))

    assert all(r.finished is not None for r in outcome.records.values())
    assert not outcome.queued_at_end and not outcome.running_at_end
    assert held_once(outcome, TINY)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_utilisation_and_jain_index_stay_in_zero_to_one(policy):
    outcome, jobs = simulate(policy)

    assert 0.0 <= outcome.utilisation <= 1.0
    figures = fairness(outcome, jobs, TINY)
    assert 0.0 <= figures.per_demand <= 1.0
    assert all(0.0 <= value <= 1.0 for value in figures.by_tier.values())
    assert all(wait >= 0 for entries in waits(outcome, TINY).values() for wait, _ in entries)


def test_preemption_only_happens_under_the_policy_that_allows_it_and_costs_work():
    without, _ = simulate(POLICIES[1])
    with_, _ = simulate(POLICIES[2])

    assert without.preemptions == 0 and without.lost_gpu_seconds == 0
    assert with_.preemptions > 0
    assert with_.lost_gpu_seconds >= with_.lost_gpu_seconds_step_checkpoint > 0


def test_jain_index_is_one_for_equal_shares_and_one_over_n_for_one_taker():
    assert jain([3.0, 3.0, 3.0]) == pytest.approx(1.0)
    assert jain([6.0, 0.0, 0.0]) == pytest.approx(1 / 3)


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([5.0], 99) == 5.0
