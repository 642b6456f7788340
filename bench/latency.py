"""Latency figures, printed as JSON lines (measured, never asserted).

    python bench/latency.py scheduler      # decision time, 10,000 queued runs x 100 workers
    python bench/latency.py all            # every figure this machine can measure

Each line: {"bench": name, "value": ..., "unit": ..., "target": ...}.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Runnable as `python bench/latency.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.scheduler.placement import QueuedRun, Quotas, WorkerState, decide


def _emit(bench: str, value: float, unit: str, target: str, **extra: object) -> None:
    print(
        json.dumps(
            {"bench": bench, "value": round(value, 3), "unit": unit, "target": target} | extra
        ),
        flush=True,
    )


def scheduler_decision(queued: int = 10_000, workers: int = 100, repeats: int = 20) -> None:
    """Time one placement decision over a busy cluster: a mix of sizes, priorities, users,
    quotas, half the slots already held."""
    rng = random.Random(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [
        QueuedRun(
            id=f"run-{i}",
            user=f"user-{rng.randrange(50)}",
            project=f"project-{rng.randrange(10)}",
            priority=rng.choice((0, 0, 0, 1, 5)),
            slots_per_node=rng.choice((1, 1, 1, 2, 4, 8)),
            nodes=rng.choice((1, 1, 1, 1, 2)),
            queued_at=start + timedelta(seconds=i),
        )
        for i in range(queued)
    ]
    cluster = []
    for w in range(workers):
        slots = tuple(str(s) for s in range(8))
        cluster.append(WorkerState(f"worker-{w}", slots, slots[: rng.randrange(0, 9)]))
    quotas = Quotas(per_user={f"user-{u}": 16 for u in range(0, 50, 5)})
    history = {f"user-{u}": rng.uniform(0, 3600) for u in range(50)}
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        decision = decide(runs, cluster, quotas=quotas, recent_gpu_seconds=history)
        timings.append((time.perf_counter() - began) * 1000)
    _emit(
        "scheduler_decision_ms",
        statistics.median(timings),
        "ms",
        "< 50 ms",
        p_max=round(max(timings), 3),
        queued=queued,
        workers=workers,
        placed=len(decision.assignments),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", default="all", choices=["scheduler", "all"])
    args = parser.parse_args()
    if args.which in ("scheduler", "all"):
        scheduler_decision()


if __name__ == "__main__":
    main()
