"""Latency figures, printed as JSON lines (measured, never asserted).

    python bench/latency.py scheduler      # decision time, 10,000 queued runs x 100 workers
    python bench/latency.py service        # submit->first step, log line->API (starts a stack,
                                           # without and with the run sandbox)
    python bench/latency.py all            # every figure

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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spec(lines: int) -> dict:
    return {
        "name": "latency",
        "project": "bench",
        "model": {
            "entrypoint": "bench.latency_models:FirstStepMarker",
            "init_args": {"lines": lines},
        },
        "datamodule": {"entrypoint": "bench.latency_models:MarkedData"},
        "trainer": {"max_epochs": 1, "limit_train_batches": 2, "num_sanity_val_steps": 0},
        "export": {"formats": []},
        "checkpoint": {"save_last": False, "save_top_k": 0},
    }


def _find_lines(client, run_id: str, prefix: str) -> list[str]:
    return [
        line["text"]
        for line in client.logs(run_id, limit=1000)["lines"]
        if line["text"].startswith(prefix)
    ]


def _wait_done(client, run_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.run(run_id)
        if run["state"] in ("completed", "failed", "canceled"):
            return run
        time.sleep(0.2)  # polling interval
    raise TimeoutError(f"run {run_id} did not finish in {timeout}s")


def service_latency(
    data_dir: Path,
    database_url: str,
    isolation: str,
    repeats: int = 5,
    lines: int = 200,
    arrival_seconds: float = 0.0,
) -> float:
    """Start the local stack (its worker isolating runs with `isolation`), warm the worker
    with one run, then measure submit -> first training step (repeats) and first log line ->
    API (lines). Returns the median submit -> first step."""
    from runyard.client import Client
    from runyard.local_stack import LocalStack, StackOptions

    stack = LocalStack(
        StackOptions(
            data_dir=data_dir,
            port=_free_port(),
            database_url=database_url,
            redis_prefix=f"rybench-{random.randrange(1 << 30):x}",
            worker_name="bench",
            gpus=1,
            extra_env={
                "RUNYARD_SCHEDULER_TICK_SECONDS": "0.05",
                "RUNYARD_WORKER_HEARTBEAT_SECONDS": "1",
                "RUNYARD_WORKER_ISOLATION": isolation,
                # bench.latency_models is code the sandboxes may read.
                "RUNYARD_WORKER_SANDBOX_EXTRA_PATHS": str(Path(__file__).resolve().parent),
            },
            say=lambda _m: None,
        )
    )
    stack.up()
    try:
        with Client(stack.options.url, stack.admin_token) as client:
            client.ensure_project("bench")
            warm = _wait_done(client, client.submit(_spec(0))["run_ids"][0])
            if warm["state"] != "completed":
                raise RuntimeError(f"warm-up run {warm['state']}: {warm['exit_reason']}")
            startup = []
            phases: dict[str, list[float]] = {"to_scheduled": [], "to_running": [], "to_step": []}
            for _ in range(repeats):
                # The workload's arrival rate: 0 submits each run as the previous one ends.
                time.sleep(arrival_seconds)
                submitted = time.time()
                run_id = client.submit(_spec(0))["run_ids"][0]
                run = _wait_done(client, run_id)
                if run["state"] != "completed":
                    raise RuntimeError(f"bench run {run_id} {run['state']}: {run['exit_reason']}")
                [mark] = _find_lines(client, run_id, "FIRST_STEP")
                first_step = float(mark.split()[1])
                startup.append(first_step - submitted)
                at = {
                    t["to_state"]: datetime.fromisoformat(t["at"]).timestamp()
                    for t in run["transitions"]
                }
                phases["to_scheduled"].append(at["scheduled"] - submitted)
                phases["to_running"].append(at["running"] - at["scheduled"])
                phases["to_step"].append(first_step - at["running"])
            _emit(
                "submit_to_first_training_step_s",
                statistics.median(startup),
                "s",
                "< 2 s",
                isolation=isolation,
                arrival_seconds=arrival_seconds,
                p_max=round(max(startup), 3),
                repeats=repeats,
                median_phases_s={k: round(statistics.median(v), 3) for k, v in phases.items()},
            )

            run_id = client.submit(_spec(lines))["run_ids"][0]
            seen: dict[int, float] = {}
            after = None
            deadline = time.monotonic() + 300
            while len(seen) < lines and time.monotonic() < deadline:
                page = client.logs(run_id, after=after, limit=1000)
                now = time.time()
                for line in page["lines"]:
                    after = line["id"]
                    parts = line["text"].split()
                    if parts and parts[0] == "LINE":
                        seen[int(parts[1])] = now - float(parts[2])
                time.sleep(0.005)  # polling interval of the reader
            delays = sorted(seen.values())
            _emit(
                "log_line_to_api_ms_p99",
                1000 * delays[int(0.99 * (len(delays) - 1))],
                "ms",
                "p99 < 250 ms",
                isolation=isolation,
                p50_ms=round(1000 * statistics.median(delays), 1),
                lines=len(delays),
                note="time a line is printed by user code until the logs API returns it",
            )
    finally:
        stack.down()
    return statistics.median(startup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", default="all", choices=["scheduler", "service", "all"])
    parser.add_argument(
        "--database-url",
        default="",
        help="default: SQLite in a temporary data dir; e.g. postgresql://postgres@127.0.0.1/x",
    )
    parser.add_argument(
        "--arrival-seconds",
        type=float,
        default=10.0,
        help="time between submissions in the idle-worker case (longer than a spare's start)",
    )
    args = parser.parse_args()
    if args.which in ("scheduler", "all"):
        scheduler_decision()
    if args.which in ("service", "all"):
        import tempfile

        # The same stack twice: without isolation (the baseline) and with every run in its
        # sandbox, so the sandbox's share of the start-up is measured in one run.
        # Runs arriving at an idle worker (a spare sandbox is ready), and back to back (the
        # next run arrives before its spare has finished importing torch).
        for arrival in (args.arrival_seconds, 0.0):
            medians = {}
            for isolation in ("none", "sandbox"):
                with tempfile.TemporaryDirectory() as tmp:
                    medians[isolation] = service_latency(
                        Path(tmp), args.database_url, isolation, arrival_seconds=arrival
                    )
            _emit(
                "sandbox_added_to_first_training_step_ms",
                1000 * (medians["sandbox"] - medians["none"]),
                "ms",
                "< 100 ms",
                arrival_seconds=arrival,
            )


if __name__ == "__main__":
    main()
