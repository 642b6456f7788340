"""Machine instructions per training step: trainer_core against the plain PyTorch loop.

The same runs as bench/trainer_overhead.py (its MLP, batch 32, logger and progress bar
off, `self(x)` and `self.log` in the module's step), each under valgrind's callgrind, which
counts the instructions executed while the steps run (instrumentation is switched on at
one batch and off again `--steps` batches later, so imports and setup are left out).
Instruction counts do not depend on what else the machine is doing: where the timed bench
moves by several microseconds from run to run, this moves by about 0.1 %. They do not see
cache misses or the cost per instruction, so read them beside the timed figures.

    python bench/trainer_instructions.py [--steps 100] [--batch-size 32]

Needs valgrind (callgrind and callgrind_control on PATH). Prints JSON lines, asserts
nothing; the two runs go in parallel (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAMEWORKS = ("plain", "trainer_core")
WARM_BATCHES = 30  # batches trained before counting starts (lazy init, allocator, caches)


class ToggleAtBatch(list):  # type: ignore[type-arg]
    """The stamps list the bench's loaders append to once per batch: switches callgrind's
    instrumentation on at batch `start` and off at batch `stop`."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.stop = start, stop

    def append(self, item: object) -> None:
        super().append(item)
        if len(self) == self.start:
            _instrumentation("on")
        elif len(self) == self.stop:
            _instrumentation("off")


def _instrumentation(state: str) -> None:
    subprocess.run(
        ["callgrind_control", "--instr=" + state, str(os.getpid())],
        check=True,
        capture_output=True,
    )


def child(framework: str, steps: int, batch_size: int) -> None:
    """Runs inside valgrind: a short warm-up fit, then the counted one."""
    sys.path.insert(0, str(HERE))
    import torch
    import trainer_overhead as bench

    torch.set_num_threads(1)
    run = bench.run_plain if framework == "plain" else bench.run_trainer_core
    with tempfile.TemporaryDirectory() as root:
        run(batch_size, 10, False, root, [])
        total = WARM_BATCHES + steps + 5
        run(batch_size, total, False, root, ToggleAtBatch(WARM_BATCHES, WARM_BATCHES + steps))


def count(framework: str, steps: int, batch_size: int, out_dir: str) -> subprocess.Popen[str]:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_dir}/callgrind.{framework}",
        sys.executable,
        __file__,
        "--child",
        framework,
        "--steps",
        str(steps),
        "--batch-size",
        str(batch_size),
    ]
    # a fixed hash seed: dict layouts, hence instruction counts, repeat from run to run
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def collected(stderr: str) -> int:
    match = re.search(r"Collected : ([\d,]+)", stderr)
    if match is None:
        raise SystemExit(f"callgrind printed no count:\n{stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps counted per framework")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.batch_size)
        return
    per_step: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as out_dir:
        runs = {name: count(name, args.steps, args.batch_size, out_dir) for name in FRAMEWORKS}
        for name, process in runs.items():
            _, stderr = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"{name} under callgrind failed:\n{stderr[-2000:]}")
            per_step[name] = collected(stderr) / args.steps
            print(
                json.dumps(
                    {
                        "bench": "trainer_instructions",
                        "framework": name,
                        "batch_size": args.batch_size,
                        "logger_and_progress_bar": False,
                        "instructions_per_step": round(per_step[name]),
                        "steps": args.steps,
                    }
                ),
                flush=True,
            )
    base = per_step["plain"]
    print(
        json.dumps(
            {
                "bench": "trainer_instructions_ratio",
                "batch_size": args.batch_size,
                "trainer_core_over_plain": round(per_step["trainer_core"] / base, 4),
                "trainer_core_extra_instructions_per_step": round(per_step["trainer_core"] - base),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
