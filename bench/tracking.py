"""runyard.init's logging, printed as JSON lines (never asserted).

    python bench/tracking.py                      # 100,000 steps of one metric
    python bench/tracking.py --steps 20000 --mlflow-python .venv-mlflow/bin/python

Against a real server (SQLite, its own process): what one `run.log` call costs the training
loop, next to the floor of any Python logger (appending a dict to a list), measured in the same
run; how long `finish()` then takes to deliver everything, and the points per second end to
end (log, spool with fsync, send, store). With an MLflow client, the same points logged through
Runyard's MLflow API with `mlflow.log_metric` (one request per point, as MLflow's client sends
them) and with `log_batch` (1,000 per request). The machine is shared: the load average is
printed next to every figure.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import runyard
from runyard.client import Client

REPO = Path(__file__).resolve().parents[1]
SERVER = """
import sys
from pathlib import Path
from tests.e2e.live_server import live_server
with live_server(Path(sys.argv[1])) as server:
    print(server.url, server.admin_token, flush=True)
    sys.stdin.read()
"""
MLFLOW = """
import sys, time, mlflow
from mlflow.entities import Metric
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("bench")
steps, mode = int(sys.argv[2]), sys.argv[3]
with mlflow.start_run() as run:
    start = time.perf_counter()
    if mode == "log_metric":
        for step in range(steps):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    else:
        client, now = mlflow.MlflowClient(), int(time.time() * 1000)
        for first in range(0, steps, 1000):
            batch = [Metric("loss", 1.0 / (s + 1), now, s) for s in range(first, min(first + 1000, steps))]
            client.log_batch(run.info.run_id, metrics=batch)
    print("SECONDS", time.perf_counter() - start)
"""


def emit(**figure: object) -> None:
    print(json.dumps({**figure, "load_avg_1m": round(os.getloadavg()[0], 2)}), flush=True)


def bench_runyard(url: str, token: str, steps: int, spool: Path) -> None:
    floor: list[dict[str, object]] = []
    start = time.perf_counter()
    for step in range(steps):
        floor.append({"key": "loss", "step": step, "value": 1.0 / (step + 1), "t": time.time()})
    floor_ns = (time.perf_counter() - start) / steps * 1e9

    run = runyard.init(project="bench", name="bench", url=url, token=token, spool_dir=spool)
    start = time.perf_counter()
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    logged = time.perf_counter() - start
    finish_start = time.perf_counter()
    assert run.finish()
    finished = time.perf_counter()
    with Client(url, token) as client:
        stored = client.metric_summary(run.id)["metrics"][0]["points"]
    assert stored == steps, (stored, steps)
    emit(
        bench="runyard.init log call",
        steps=steps,
        log_call_ns=round(logged / steps * 1e9),
        baseline_list_append_ns=round(floor_ns),
        ratio=round(logged / steps * 1e9 / floor_ns, 2),
    )
    emit(
        bench="runyard.init end to end",
        steps=steps,
        finish_seconds=round(finished - finish_start, 3),
        total_seconds=round(finished - start, 3),
        points_per_second=round(steps / (finished - start)),
    )


def bench_mlflow(python: str, url: str, token: str, steps: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_TOKEN"] = token
    for mode, count in (("log_metric", min(steps, 2000)), ("log_batch", steps)):
        done = subprocess.run(
            [python, "-c", MLFLOW, url, str(count), mode],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        [seconds] = [
            float(x.split()[1]) for x in done.stdout.splitlines() if x.startswith("SECONDS")
        ]
        emit(
            bench=f"mlflow client {mode} into Runyard",
            steps=count,
            total_seconds=round(seconds, 3),
            points_per_second=round(count / seconds),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--mlflow-python", default=os.environ.get("RUNYARD_MLFLOW_PYTHON"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(SERVER), tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert server.stdout is not None
            url, token = server.stdout.readline().split()
            with Client(url, token) as client:
                client.ensure_project("bench")
            bench_runyard(url, token, args.steps, Path(tmp) / "spool")
            if args.mlflow_python:
                bench_mlflow(args.mlflow_python, url, token, args.steps)
        finally:
            server.communicate("", timeout=60)


if __name__ == "__main__":
    main()
