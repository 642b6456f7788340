"""Scale by simulation: the scheduler's real placement and preemption code on a simulated
1,000-GPU cluster (125 nodes x 8 GPUs) shared by 100 users, over a synthetic week of jobs
(see cluster_sim_workload.py for the shape and its sources), compressed in time.

    python bench/cluster_sim.py                 # the week (+ a day of warm-up), seed 14
    python bench/cluster_sim.py --days 2        # shorter
    python bench/cluster_sim.py --seed 3 --load 1.05

Per policy (FIFO; priority + fair share as the scheduler runs today; the same + preemption)
it prints JSON lines: one per job size class (jobs, median and p99 queueing delay from
submission to first start, in minutes; jobs never started by the end count with the wait
they had so far), one for the high-priority jobs, and a summary (GPU utilisation, Jain's
fairness index of GPU-hours between users of equal demand, GPU-hours lost to preemption).
FIFO is the baseline measured in the same run. Last, the time of one scheduler pass (decide,
the blocked runs, the preemption plan) with 100,000 queued runs on the same cluster.
"""

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# Runnable as `python bench/cluster_sim.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cluster_sim_engine import EPOCH, POLICIES, ClusterSim, Outcome, Policy, SimConfig
from bench.cluster_sim_workload import HIGH_PRIORITY, TIERS, Job, generate, size_class
from server.scheduler.placement import NodePlacement, QueuedRun, Quotas, WorkerState, decide
from server.scheduler.preemption import (
    PreemptionPolicy,
    RunningRun,
    blocked_runs,
    plan_preemptions,
)
from server.scheduler.settings import SchedulerSettings

DAY = 24 * 3600.0
SIZE_CLASSES = ("1", "2-4", "8", "16-64")


def _emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all are equal, 1/n when one has everything."""
    total = sum(values)
    if not values or total == 0:
        return 1.0
    return total**2 / (len(values) * sum(v * v for v in values))


def waits(outcome: Outcome, config: SimConfig) -> dict[str, list[tuple[float, bool]]]:
    """(queueing delay in seconds from submission to first start, started at all) of each
    job submitted in the measured window, by size class and for the high-priority jobs; a job
    never started counts with the wait it had by the end."""
    by_class: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for record in outcome.records.values():
        job = record.job
        if not config.warmup_seconds <= job.submit < config.end_seconds:
            continue
        start = record.first_start
        started = start is not None and start <= config.end_seconds
        wait = (start if start is not None and started else config.end_seconds) - job.submit
        by_class[size_class(job.gpus)].append((wait, started))
        if job.priority == HIGH_PRIORITY:
            by_class["high_priority"].append((wait, started))
    return by_class


def demand(jobs: Sequence[Job], config: SimConfig) -> dict[str, float]:
    """GPU-seconds each user asked for inside the measured window: each job's work as if it
    started the moment it was submitted, clipped to the window."""
    asked: dict[str, float] = defaultdict(float)
    for job in jobs:
        low = max(job.submit, config.warmup_seconds)
        high = min(job.submit + job.duration, config.end_seconds)
        if high > low:
            asked[job.user] += (high - low) * job.gpus
    return asked


@dataclass(frozen=True)
class Fairness:
    per_demand: float
    """Over every user: Jain's index of GPU-hours received per GPU-hour asked for."""
    by_tier: dict[str, float]
    """Within each demand tier: Jain's index of raw GPU-hours."""


def fairness(outcome: Outcome, jobs: Sequence[Job], config: SimConfig) -> Fairness:
    """Jain's index of GPU-hours between users of equal demand, two ways: over every user, of
    GPU-hours received per GPU-hour asked for (the share each got of what they wanted, which
    is their GPU-hours when demands are equal); and within each tier, of raw GPU-hours (the
    users of a tier submit at the same rate, so their expected demand is equal, but a week
    holds few of the big jobs that make most of it, so this one mostly shows that draw)."""
    asked = demand(jobs, config)
    received = outcome.user_gpu_seconds
    tiers: dict[str, set[str]] = defaultdict(set)
    for job in jobs:
        tiers[job.tier].add(job.user)
    return Fairness(
        per_demand=round(jain([received.get(u, 0.0) / a for u, a in asked.items() if a > 0]), 4),
        by_tier={
            tier: round(jain([received.get(u, 0.0) for u in sorted(tiers[tier])]), 4)
            for tier, _, _ in TIERS
        },
    )


def report(policy: Policy, outcome: Outcome, config: SimConfig, jobs: Sequence[Job]) -> dict:
    by_class = waits(outcome, config)
    for name in (*SIZE_CLASSES, "high_priority"):
        entries = by_class.get(name, [])
        delays = [wait for wait, _ in entries]
        _emit(
            bench="cluster_sim",
            policy=policy.name,
            size_class=name,
            jobs=len(entries),
            never_started=sum(1 for _, started in entries if not started),
            queue_delay_median_min=round(percentile(delays, 50) / 60, 2),
            queue_delay_p99_min=round(percentile(delays, 99) / 60, 2),
        )
    fair = fairness(outcome, jobs, config)
    summary = {
        "policy": policy.name,
        "gpu_utilisation": round(outcome.utilisation, 4),
        "jain_gpu_hours_per_demand": fair.per_demand,
        "jain_gpu_hours_by_tier": fair.by_tier,
        "preemptions": outcome.preemptions,
        "gpu_hours_lost_to_preemption": round(outcome.lost_gpu_seconds / 3600, 1),
        "gpu_hours_lost_pct": round(
            100 * outcome.lost_gpu_seconds / max(outcome.busy_gpu_seconds, 1), 3
        ),
        "gpu_hours_lost_with_step_checkpoint": round(
            outcome.lost_gpu_seconds_step_checkpoint / 3600, 1
        ),
        "scheduling_passes": outcome.passes,
        "max_queued": outcome.max_queued,
        "queued_at_end": len(outcome.queued_at_end),
    }
    _emit(bench="cluster_sim_summary", **summary)
    high = [wait for wait, _ in by_class.get("high_priority", [])]
    return summary | {"high_priority_p99_s": percentile(high, 99)}


def decision_time(outcome_jobs: Sequence[Job], config: SimConfig, seed: int, queued: int) -> None:
    """One pass of the scheduler over `queued` runs, on a cluster as full as a busy one."""
    rng = random.Random(seed)
    pool = list(outcome_jobs)
    runs = []
    for i in range(queued):
        job = pool[rng.randrange(len(pool))]
        runs.append(
            QueuedRun(
                id=f"q-{i:06d}",
                user=job.user,
                project=job.tier,
                priority=job.priority,
                slots_per_node=job.slots_per_node,
                nodes=job.nodes,
                queued_at=EPOCH + timedelta(seconds=i),
            )
        )
    slots = tuple(str(s) for s in range(config.node_gpus))
    workers, running = [], []
    users = sorted({j.user for j in pool})
    for n in range(config.nodes):
        name = f"node-{n:03d}"
        held = config.node_gpus - rng.choice((0, 0, 1, 2, 3))  # a few slots free here and there
        workers.append(WorkerState(name, slots, slots[held:]))
        for s in range(held):
            running.append(
                RunningRun(
                    id=f"r-{n}-{s}",
                    user=rng.choice(users),
                    priority=0,
                    nodes=(NodePlacement(name, (slots[s],)),),
                    running_seconds=rng.uniform(0, DAY),
                    seconds_since_checkpoint=rng.uniform(0, 1800),
                )
            )
    usage: dict[str, int] = defaultdict(int)
    for r in running:
        usage[r.user] += r.slots
    history = {u: rng.uniform(0, 7 * DAY) for u in users}
    timings: dict[str, list[float]] = defaultdict(list)
    for _ in range(3):
        cpu = time.process_time()
        began = time.perf_counter()
        decision = decide(runs, workers, user_usage=usage, recent_gpu_seconds=history)
        placed = time.perf_counter()
        blocked = blocked_runs(
            runs,
            decision,
            quotas=Quotas(),
            user_usage=usage,
            project_usage={},
            recent_gpu_seconds=history,
        )
        ordered = time.perf_counter()
        plan_preemptions(blocked, workers, running, PreemptionPolicy(budget=30))
        planned = time.perf_counter()
        timings["decide"].append(placed - began)
        timings["blocked"].append(ordered - placed)
        timings["preemption_plan"].append(planned - ordered)
        timings["pass"].append(planned - began)
        timings["pass_cpu"].append(time.process_time() - cpu)
    _emit(
        bench="cluster_sim_decision_time",
        queued_runs=queued,
        workers=config.nodes,
        gpus=config.gpus,
        running_runs=len(running),
        **{f"{k}_ms": round(1000 * statistics.median(v), 1) for k, v in timings.items()},
        tick_seconds=SchedulerSettings().tick_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--days", type=float, default=7.0, help="measured days of arrivals")
    parser.add_argument("--warmup-days", type=float, default=1.0)
    parser.add_argument("--load", type=float, default=1.0, help="offered GPU-time / capacity")
    parser.add_argument("--nodes", type=int, default=125)
    parser.add_argument("--queued", type=int, default=100_000, help="for the decision time")
    parser.add_argument("--policies", default=",".join(p.name for p in POLICIES))
    args = parser.parse_args(argv)

    config = SimConfig(
        nodes=args.nodes,
        warmup_seconds=args.warmup_days * DAY,
        end_seconds=(args.warmup_days + args.days) * DAY,
    )
    jobs = generate(
        random.Random(args.seed), gpus=config.gpus, days=config.end_seconds / DAY, load=args.load
    )
    _emit(
        bench="cluster_sim_setup",
        seed=args.seed,
        nodes=config.nodes,
        gpus=config.gpus,
        users=sum(count for _, count, _ in TIERS),
        days=args.days,
        warmup_days=args.warmup_days,
        load=args.load,
        jobs=len(jobs),
        tick_seconds=config.tick_seconds,
        periodic_pass_seconds=config.pass_seconds,
        checkpoint_minutes=config.checkpoint_seconds / 60,
        drain_seconds=config.drain_seconds,
        restart_seconds=config.restart_seconds,
        preemptions_per_hour=config.preemptions_per_hour,
    )
    wanted = set(args.policies.split(","))
    results = {}
    for policy in POLICIES:
        if policy.name not in wanted:
            continue
        began = time.perf_counter()
        outcome = ClusterSim(config, policy, jobs).run()
        results[policy.name] = report(policy, outcome, config, jobs)
        print(f"# {policy.name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    if {"priority_fair_share", "priority_fair_share_preemption"} <= results.keys():
        without = results["priority_fair_share"]
        with_ = results["priority_fair_share_preemption"]
        _emit(
            bench="cluster_sim_preemption_effect",
            high_priority_p99_cut=round(
                without["high_priority_p99_s"] / max(with_["high_priority_p99_s"], 1.0), 2
            ),
            target_cut=5.0,
            gpu_hours_lost_pct=with_["gpu_hours_lost_pct"],
            target_lost_pct=3.0,
        )
    # The pass at 1,000 and 10,000 queued runs is the baseline for the one at `--queued`.
    for queued in sorted({min(1_000, args.queued), min(10_000, args.queued), args.queued} - {0}):
        decision_time(jobs, config, args.seed, queued)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
