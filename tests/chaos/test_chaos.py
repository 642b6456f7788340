"""The chaos suite: runs train on a real stack (PostgreSQL, a Redis of its own, the server, two
ingesters, two schedulers, three workers) while a seeded schedule of faults hits it. At the
end every run completed with the weights and the metric series of an uninterrupted run, each
metric step and log line was stored once, no slot was ever held by two attempts, and no
process of any run is left.

Short schedule (CI): every kind of fault once. Long schedule:
    RUNYARD_CHAOS_FAULTS=40 RUNYARD_CHAOS_RUNS=12 bash scripts/test.sh tests/chaos
Replay a failure with the seed it printed: RUNYARD_CHAOS_SEED=<seed>.
"""

import json
import os
import random
import time
from datetime import UTC, datetime

import pytest
import torch
from sqlalchemy import create_engine, text

from tests.chaos.faults import schedule
from tests.chaos.invariants import (
    double_held_slots,
    duplicated_log_lines,
    leftover_run_processes,
    slot_holdings,
    wasted_gpu_seconds,
)
from tests.chaos.stack import ChaosStack
from tests.server.conftest import create_postgres_database, drop_postgres_database
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.chaos]

EPOCHS = 10
SPEC = {
    "project": "chaos",
    "model": {"entrypoint": "tests.chaos.chaos_models:ChaosClassifier"},
    "datamodule": {
        "entrypoint": "tests.worker.tiny_models:TinyData",
        "init_args": {"samples": 160, "batch_size": 16},
    },
    "trainer": {
        "max_epochs": EPOCHS,
        "seed": 11,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
        "deterministic": True,
    },
    "checkpoint": {"save_top_k": 1, "save_last": True},
    "resources": {"gpus_per_node": 1},
    # Infrastructure faults requeue runs; the suite sets a budget they cannot use up.
    "max_restarts": 20,
    "export": {"formats": []},
}
TERMINAL = ("completed", "failed", "canceled")


def _knob(name: str, default: int) -> int:
    return int(os.environ.get(f"RUNYARD_CHAOS_{name}", default))


def _finished(client, run_ids, timeout):
    return wait_for(
        lambda: all((r := client.run(i))["state"] in TERMINAL for i in run_ids) and r,
        timeout=timeout,
        what="every run to finish",
    )


def _last_weights(client, run_id, tmp_path):
    [last] = [c for c in client.checkpoints(run_id) if c["is_last"]]
    path = client.download(f"/api/v1/checkpoints/{last['id']}/download", tmp_path / run_id)
    return torch.load(path, weights_only=True)["state_dict"]


def _series(client, run_id):
    return {
        key: [(p["step"], p["value"]) for p in client.metric(run_id, key, max_points=100_000)]
        for key in ("train_loss", "val_loss")
    }


def test_no_fault_fails_a_run_or_loses_or_duplicates_anything(tmp_path, own_redis):
    seed = _knob("SEED", random.SystemRandom().randrange(1 << 31))
    faults = schedule(random.Random(seed), _knob("FAULTS", 7))
    run_count = _knob("RUNS", 5)
    print(f"chaos seed {seed}: replay with RUNYARD_CHAOS_SEED={seed}")
    database_url = create_postgres_database()
    stack = ChaosStack(tmp_path / "stack", own_redis, database_url)
    injected: list[str] = []
    run_ids: list[str] = []
    reference = None
    try:
        stack.up()
        client = stack.client()
        client.ensure_project("chaos")
        run_ids += [
            client.submit(SPEC | {"name": f"chaos-{i}"})["run_ids"][0] for i in range(run_count)
        ]
        wait_for(
            lambda: any(client.run(r)["state"] == "running" for r in run_ids),
            timeout=120,
            what="a run to start training",
        )
        pacing = random.Random(seed + 1)
        for fault in faults:
            time.sleep(pacing.uniform(1.0, 3.0))  # spacing of the schedule, not synchronisation
            injected.append(fault(stack, pacing))
            print(f"fault {len(injected)}: {injected[-1]}")
        client = stack.client()  # the server may have restarted: a fresh connection
        _finished(client, run_ids, timeout=900)
        runs = {r: client.run(r) for r in run_ids}
        failures = {r: (v["state"], v.get("exit_reason")) for r, v in runs.items()}
        assert all(state == "completed" for state, _ in failures.values()), (seed, failures)

        # The same spec, uninterrupted, is the reference for weights and metrics.
        [reference] = client.submit(SPEC | {"name": "chaos-reference"})["run_ids"]
        assert _finished(client, [reference], timeout=300)["state"] == "completed"
        expected_weights = _last_weights(client, reference, tmp_path)
        expected_series = _series(client, reference)
        points = 0
        for run_id in run_ids:
            got = _last_weights(client, run_id, tmp_path)
            assert got.keys() == expected_weights.keys()
            for key in got:
                assert torch.equal(got[key], expected_weights[key]), (seed, run_id, key)
            series = _series(client, run_id)
            for key, expected in expected_series.items():
                steps = [step for step, _ in series[key]]
                missing = sorted({s for s, _ in expected} - set(steps))
                extra = sorted(set(steps) - {s for s, _ in expected})
                assert series[key] == expected, (
                    f"seed {seed}, run {run_id}, {key}: missing steps {missing}, extra {extra}"
                )
            points += sum(len(s) for s in series.values())

        engine = create_engine(database_url)
        try:
            overlaps = double_held_slots(slot_holdings(engine), datetime.now(UTC))
            duplicates = duplicated_log_lines(engine, run_ids)
            wasted = wasted_gpu_seconds(engine, run_ids)
            with engine.connect() as conn:
                attempts = conn.execute(
                    text("SELECT COUNT(*) FROM run_attempts WHERE run_id = ANY(:ids)"),
                    {"ids": run_ids},
                ).scalar()
        finally:
            engine.dispose()
        assert overlaps == [], (seed, overlaps)
        assert duplicates == [], (seed, duplicates)
    finally:
        stack.down()
    left = leftover_run_processes([*run_ids, *([reference] if reference else [])])
    assert left == [], left
    drop_postgres_database(database_url)
    print(
        json.dumps(
            {
                "bench": "chaos",
                "seed": seed,
                "faults_injected": len(injected),
                "faults": injected,
                "runs": run_count,
                "attempts": attempts,
                "metric_points_checked": points,
                "duplicates": len(duplicates),
                "losses": 0,
                "wasted_gpu_seconds_from_restarts": round(wasted, 1),
            }
        )
    )
