"""ASHA against the same trials run to the end, on digits, on one local stack (JSON lines).

    python bench/asha_vs_grid.py [--trials 9] [--max-epochs 27] [--slots 2]

Submits an ASHA search (grace period 3, reduction factor 3: rungs of 3, 9 and 27 epochs) and
then, as the baseline measured in the same run, a random search with the same seed, space
and number of trials, which samples exactly the same configurations and trains each for
trainer.max_epochs. For each: the slot-seconds its trials spent running (the GPU-seconds a
GPU worker would bill; here the worker's slots train on the CPU), the epochs trained, the
wall-clock time and the best final val_acc. Measured, never asserted.
"""

import argparse
import json
import random
import socket
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

# Runnable as `python bench/asha_vs_grid.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runyard.client import Client
from runyard.local_stack import LocalStack, StackOptions

FINISHED = ("completed", "failed", "canceled")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spec(search: dict[str, Any], max_epochs: int, slots: int, trials: int) -> dict[str, Any]:
    return {
        "name": f"bench-{search['algorithm']}",
        "project": "bench",
        "model": {"entrypoint": "examples.digits:DigitsClassifier", "init_args": {}},
        "datamodule": {"entrypoint": "examples.digits:DigitsDataModule", "init_args": {}},
        "trainer": {"max_epochs": max_epochs, "seed": 0, "log_every_n_steps": 10},
        "resources": {"gpus_per_node": 1},
        "checkpoint": {"monitor": "val_acc", "mode": "max", "save_top_k": 1},
        "export": {"formats": ["torchscript"]},
        "search": search
        | {
            "num_trials": trials,
            "max_concurrent": slots,
            "seed": 7,
            "parameters": {
                "model.init_args.lr": {"loguniform": [1e-4, 3e-2]},
                "model.init_args.hidden_size": {"choice": [64, 256, 512]},
                "model.init_args.dropout": {"uniform": [0.0, 0.5]},
            },
        },
    }


def _running_seconds(run: dict[str, Any]) -> float:
    """Time spent running, summed over its attempts (each from `running` to what came next)."""
    total, since = 0.0, None
    for t in run["transitions"]:
        at = datetime.fromisoformat(t["at"]).timestamp()
        if since is not None:
            total += at - since
            since = None
        if t["to_state"] == "running":
            since = at
    return total


def _measure(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    began = time.monotonic()
    run_ids = client.submit(spec)["run_ids"]
    while True:
        runs = [client.run(i) for i in run_ids]
        if all(r["state"] in FINISHED for r in runs):
            break
        time.sleep(1.0)  # polling interval
    wall = time.monotonic() - began
    bad = [r for r in runs if r["state"] != "completed"]
    if bad:
        raise RuntimeError(f"{len(bad)} trial(s) did not complete: {bad[0]['exit_reason']}")
    max_epochs = spec["trainer"]["max_epochs"]
    epochs = 0
    finals = []
    for run in runs:
        results = run["rung_results"]
        epochs += results[-1]["epochs"] if results else max_epochs
        if not results or results[-1]["epochs"] == max_epochs:
            points = client.metric(run["id"], "val_acc", max_points=100_000)
            finals.append(points[-1]["value"])
    return {
        "trials": len(runs),
        "slot_seconds": round(sum(_running_seconds(r) for r in runs), 1),
        "epochs_trained": epochs,
        "attempts": sum(r["attempt"] for r in runs),
        "stopped_early": sum(
            1 for r in runs if (r["exit_reason"] or "").startswith("stopped by ASHA")
        ),
        "wall_seconds": round(wall, 1),
        "best_final_val_acc": round(max(finals), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--max-epochs", type=int, default=27)
    parser.add_argument("--grace-period", type=int, default=3)
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rybench-asha-") as data_dir:
        stack = LocalStack(
            StackOptions(
                data_dir=Path(data_dir),
                port=_free_port(),
                redis_prefix=f"rybench-{random.randrange(1 << 30):x}",
                worker_name="bench",
                gpus=args.slots,
                extra_env={
                    "RUNYARD_SCHEDULER_TICK_SECONDS": "0.2",
                    "RUNYARD_WORKER_HEARTBEAT_SECONDS": "1",
                },
                say=lambda _m: None,
            )
        )
        stack.up()
        try:
            with Client(stack.options.url, stack.admin_token) as client:
                client.ensure_project("bench")
                asha = {
                    "algorithm": "asha",
                    "metric": "val_acc",
                    "mode": "max",
                    "grace_period": args.grace_period,
                    "reduction_factor": args.reduction_factor,
                }
                figures = {}
                for name, search in (("asha", asha), ("to_the_end", {"algorithm": "random"})):
                    spec = _spec(search, args.max_epochs, args.slots, args.trials)
                    figures[name] = _measure(client, spec)
                    print(json.dumps({"bench": "asha_vs_grid", "search": name} | figures[name]))
                ratio = figures["asha"]["slot_seconds"] / figures["to_the_end"]["slot_seconds"]
                print(
                    json.dumps(
                        {
                            "bench": "asha_vs_grid",
                            "value": round(ratio, 3),
                            "unit": "ASHA slot-seconds / same trials to the end",
                            "max_epochs": args.max_epochs,
                            "slots": args.slots,
                        }
                    )
                )
        finally:
            stack.down()


if __name__ == "__main__":
    main()
