"""What the run sandbox costs at start, against the same start without it (JSON lines,
measured, never asserted). Needs root and bubblewrap, like the sandbox itself.

    python bench/sandbox_start.py [--repeats 5]

Figures (median of --repeats, milliseconds):
- cold_first_line: a fresh Python printing one line; plain child (RunProcess) vs a cold
  sandbox (uid, directories, cgroup, bubblewrap, supervisor, then the program).
- cold_first_step: from start to the first training step of a tiny module with no spare:
  `python -m worker.run_child` (RunProcess) vs a cold sandbox (whose supervisor imports
  torch before it forks the run child).
- warm_go_to_child: a spare sandbox (torch preloaded) from start() to its run child forked.
- warm_first_step: from start() to the first training step of a tiny module, through the
  warm launcher (worker.warm_start, no isolation) vs through a spare sandbox.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

# Runnable as `python bench/sandbox_start.py` from a checkout that is not pip-installed.
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from runyard.schemas import ExperimentSpec  # noqa: E402
from worker.child_plan import ChildPlan  # noqa: E402
from worker.process_group import RunProcess  # noqa: E402
from worker.sandbox import SandboxConfig, SandboxPool  # noqa: E402
from worker.settings import WorkerSettings  # noqa: E402


def _emit(bench: str, value: float, **extra: object) -> None:
    line = {"bench": bench, "value": round(value, 1), "unit": "ms"} | extra
    print(json.dumps(line), flush=True)


class _FirstLine:
    """Records when the first line starting with `prefix` arrives."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.at: float | None = None
        self.seen = threading.Event()

    def __call__(self, _stream: str, line: str) -> None:
        if not self.seen.is_set() and line.startswith(self.prefix):
            self.at = time.perf_counter()
            self.seen.set()

    def wait(self, began: float, timeout: float = 300) -> float:
        if not self.seen.wait(timeout):
            raise TimeoutError(f"no line starting with {self.prefix!r}")
        assert self.at is not None
        return (self.at - began) * 1000


def _plan(directory: Path) -> Path:
    spec = ExperimentSpec.model_validate(
        {
            "name": "bench",
            "project": "bench",
            "model": {"entrypoint": "latency_models:FirstStepMarker"},
            "datamodule": {"entrypoint": "latency_models:MarkedData"},
            "trainer": {"max_epochs": 1, "limit_train_batches": 2, "num_sanity_val_steps": 0},
            "export": {"formats": []},
        }
    )
    plan = directory / "plan.json"
    plan.write_text(ChildPlan(run_id="bench", attempt=1, spec=spec).model_dump_json())
    return plan


def _env() -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(BENCH.parent), str(BENCH)]),
    }


def cold_first_line(config: SandboxConfig, tmp: Path, repeats: int) -> None:
    code = [sys.executable, "-c", "print('up')"]
    plain, sandboxed = [], []
    pool = SandboxPool(replace(config, preload=(), spares=0))
    pool.start()
    try:
        for i in range(repeats):
            first = _FirstLine()
            began = time.perf_counter()
            process = RunProcess(code, cwd=tmp / f"plain-{i}", env=_env(), on_line=first)
            process.start()
            plain.append(first.wait(began))
            process.wait(timeout=60)

            first = _FirstLine()
            began = time.perf_counter()
            sandbox = pool.acquire()
            sandbox.start(argv=code, env=_env(), on_line=first)
            sandboxed.append(first.wait(began))
            sandbox.wait(timeout=60)
            sandbox.release()
    finally:
        pool.close()
    _emit("cold_first_line_plain", statistics.median(plain), repeats=repeats)
    _emit("cold_first_line_sandbox", statistics.median(sandboxed), repeats=repeats)


def cold_first_step(config: SandboxConfig, tmp: Path, repeats: int) -> None:
    plain, sandboxed = [], []
    pool = SandboxPool(replace(config, spares=0))
    pool.start()
    try:
        for i in range(repeats):
            work = tmp / f"cold-{i}"
            work.mkdir()
            plan = _plan(work)
            first = _FirstLine("FIRST_STEP")
            began = time.perf_counter()
            argv = [sys.executable, "-m", "worker.run_child", str(plan)]
            process = RunProcess(argv, cwd=work, env=_env(), on_line=first)
            process.start()
            plain.append(first.wait(began))
            process.wait(timeout=300)

            first = _FirstLine("FIRST_STEP")
            began = time.perf_counter()
            sandbox = pool.acquire()
            sandbox.start(plan=_plan(sandbox.work_dir), env=_env(), on_line=first)
            sandboxed.append(first.wait(began))
            sandbox.wait(timeout=300)
            sandbox.release()
    finally:
        pool.close()
    _emit("cold_first_step_plain", statistics.median(plain), repeats=repeats)
    _emit("cold_first_step_sandbox", statistics.median(sandboxed), repeats=repeats)


def _start_launcher(tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    socket_path = tmp / "launcher.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.warm_start", str(socket_path)], env=_env()
    )
    deadline = time.monotonic() + 300
    while not socket_path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the warm launcher did not start")
        time.sleep(0.05)  # waiting for the launcher's socket (bench set-up)
    return process, socket_path


def warm_first_step(config: SandboxConfig, tmp: Path, repeats: int) -> None:
    launcher, socket_path = _start_launcher(tmp)
    pool = SandboxPool(replace(config, spares=1))
    pool.start()
    plain, sandboxed, forked = [], [], []
    try:
        for i in range(repeats):
            work = tmp / f"launcher-{i}"
            work.mkdir()
            plan = _plan(work)
            first = _FirstLine("FIRST_STEP")
            began = time.perf_counter()
            process = RunProcess(
                ["false"],
                cwd=work,
                env=_env(),
                on_line=first,
                launcher=socket_path,
                launcher_argv=[str(plan)],
            )
            process.start()
            plain.append(first.wait(began))
            process.wait(timeout=300)

            sandbox = pool.acquire()
            deadline = time.monotonic() + 300
            while not sandbox.ready:  # a spare that is still importing torch is not warm
                if time.monotonic() > deadline:
                    raise TimeoutError("the spare sandbox did not preload")
                time.sleep(0.05)
            plan = _plan(sandbox.work_dir)
            first = _FirstLine("FIRST_STEP")
            began = time.perf_counter()
            sandbox.start(plan=plan, env=_env(), on_line=first)
            while sandbox.pid is None:
                time.sleep(0.0005)  # polling the fork (the figure itself)
            forked.append((time.perf_counter() - began) * 1000)
            sandboxed.append(first.wait(began))
            sandbox.wait(timeout=300)
            sandbox.release()
    finally:
        pool.close()
        launcher.terminate()
        launcher.wait()
    _emit("warm_go_to_child_sandbox", statistics.median(forked), repeats=repeats)
    _emit("warm_first_step_launcher", statistics.median(plain), repeats=repeats)
    _emit("warm_first_step_sandbox", statistics.median(sandboxed), repeats=repeats)
    _emit(
        "warm_first_step_sandbox_overhead",
        statistics.median(sandboxed) - statistics.median(plain),
        target="< 100",
        repeats=repeats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ry-bench-") as name:
        tmp = Path(name)
        settings = WorkerSettings(
            work_dir=tmp / "work", spool_dir=tmp / "spool", sandbox_extra_paths=[BENCH]
        )
        config = SandboxConfig.from_settings(settings)
        cold_first_line(config, tmp, args.repeats)
        cold_first_step(config, tmp, args.repeats)
        warm_first_step(config, tmp, args.repeats)


if __name__ == "__main__":
    main()
