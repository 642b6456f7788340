"""The synthetic week of jobs `cluster_sim.py` replays: who submits what, how big, how long.

The shape follows what the published traces of shared GPU clusters report:
- Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN Training Workloads"
  (Microsoft Philly, USENIX ATC 2019): most jobs use one GPU; distributed jobs of 8+ GPUs are
  few, and they are the ones gang scheduling and locality keep waiting longest.
- Hu et al., "Characterization and Prediction of Deep Learning Workloads in Large-Scale GPU
  Datacenters" (SenseTime Helios, SC'21): single-GPU jobs are the majority of GPU jobs yet a
  small share of GPU time; the few large jobs take most of it; durations are heavy-tailed
  (most jobs end within an hour, a tail runs for days); submissions follow the working day.

What we took is that shape, not a fitted table: the numbers below are ours, chosen so that
1-GPU jobs are ~72 % of jobs and ~2 % of GPU-hours, while 8-64-GPU jobs are 13 % of jobs and
~95 % of GPU-hours, with lognormal durations whose medians grow with size (10 min for 1 GPU,
20 h for 16-64 GPUs, capped at 7 days). Users come in three demand tiers; users of one tier
submit at the same rate (equal demand), which is what the fairness index compares.
"""

import math
import random
from dataclasses import dataclass

NODE_GPUS = 8

# (GPUs, share of jobs, median duration in seconds, lognormal sigma)
SIZES: tuple[tuple[int, float, float, float], ...] = (
    (1, 0.72, 10 * 60, 1.6),
    (2, 0.07, 40 * 60, 1.3),
    (4, 0.08, 40 * 60, 1.3),
    (8, 0.10, 2 * 3600, 1.3),
    (16, 0.018, 20 * 3600, 0.8),
    (32, 0.009, 20 * 3600, 0.8),
    (64, 0.003, 20 * 3600, 0.8),
)
MIN_DURATION = 60.0
MAX_DURATION = 7 * 24 * 3600.0

# (tier, users, relative submission rate per user)
TIERS: tuple[tuple[str, int, float], ...] = (
    ("heavy", 10, 4.0),
    ("medium", 30, 2.0),
    ("light", 60, 0.5),
)

HIGH_PRIORITY = 10
HIGH_PRIORITY_SHARE = 0.05
"""Of jobs of at most one node (urgent evaluations, deadline runs); multi-node runs are
priority 0."""


@dataclass(frozen=True)
class Job:
    id: str
    user: str
    tier: str
    gpus: int
    priority: int
    submit: float
    """Seconds from the start of the simulation."""
    duration: float
    """Seconds of work at full speed, without interruptions."""

    @property
    def nodes(self) -> int:
        return max(1, self.gpus // NODE_GPUS)

    @property
    def slots_per_node(self) -> int:
        return self.gpus // self.nodes


def size_class(gpus: int) -> str:
    if gpus == 1:
        return "1"
    if gpus <= 4:
        return "2-4"
    if gpus == 8:
        return "8"
    return "16-64"


def mean_gpu_seconds() -> float:
    """Expected GPU-seconds of one job (lognormal means; the cap changes it by well under 1 %)."""
    return sum(
        gpus * share * median * math.exp(sigma**2 / 2) for gpus, share, median, sigma in SIZES
    )


def users() -> list[tuple[str, str, float]]:
    """(user, tier, rate weight) for every user."""
    return [
        (f"{tier}-{i:02d}", tier, weight) for tier, count, weight in TIERS for i in range(count)
    ]


def _diurnal(seconds: float) -> float:
    """Submission rate multiplier: a working-day peak mid-afternoon, a trough at night (0.5-1.5)."""
    hour = (seconds / 3600.0) % 24
    return 1.0 + 0.5 * math.sin((hour - 9.0) / 24.0 * 2 * math.pi)


def generate(rng: random.Random, *, gpus: int, days: float, load: float) -> list[Job]:
    """Jobs submitted over `days`, at a mean rate that offers `load` x the cluster's GPU-time."""
    horizon = days * 24 * 3600
    rate = load * gpus / mean_gpu_seconds()  # jobs per second, on average
    people = users()
    weights = [w for _, _, w in people]
    shares = [share for _, share, _, _ in SIZES]
    jobs: list[Job] = []
    t = 0.0
    peak = rate * 1.5
    while True:
        # Thinning: a Poisson process at the peak rate, each arrival kept at the diurnal ratio.
        t += rng.expovariate(peak)
        if t >= horizon:
            return jobs
        if rng.random() > _diurnal(t) / 1.5:
            continue
        user, tier, _ = rng.choices(people, weights)[0]
        size, _, median, sigma = rng.choices(SIZES, shares)[0]
        duration = min(max(rng.lognormvariate(math.log(median), sigma), MIN_DURATION), MAX_DURATION)
        urgent = size <= NODE_GPUS and rng.random() < HIGH_PRIORITY_SHARE
        jobs.append(
            Job(
                id=f"job-{len(jobs):06d}",
                user=user,
                tier=tier,
                gpus=size,
                priority=HIGH_PRIORITY if urgent else 0,
                submit=t,
                duration=duration,
            )
        )
