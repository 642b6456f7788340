"""Helpers for the distributed tests: run the training script as OS processes, wait on
conditions with deadlines, and look for processes left behind (through /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.distributed.tiny import TinyClassifier, quiet_trainer

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT_MODULE = "tests.trainer_core.distributed.train_script"
RUN_TIMEOUT_S = 240.0


def script_command(out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", SCRIPT_MODULE, "--out", str(out), *flags]


def script_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _RANK_VARIABLES}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra or {})
    return env


_RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def start_script(
    out: Path, *flags: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        script_command(out, *flags),
        cwd=REPO_ROOT,
        env=script_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_script(out: Path, *flags: str) -> dict[str, Any]:
    """Run the script to the end; return rank 0's result file (fails with the output)."""
    proc = start_script(out, *flags)
    output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, output
    return torch.load(out / "result.pt", weights_only=True)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has finished)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def assert_same_weights(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], atol: float = 1e-5
) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=atol, rtol=0, msg=name)


def train_single_process(
    epochs: int, root: Path | None = None, resume: str | None = None
) -> tuple[TinyClassifier, pl.Trainer]:
    """The reference: one process, global batch 8 (what 2 ranks of batch 4 see together)."""
    torch.set_num_threads(1)
    pl.seed_everything(1234)
    model = TinyClassifier(batch_size=8)
    flags: dict[str, Any] = {"max_epochs": epochs, "resume_from_checkpoint": resume}
    if root is not None:
        flags.update(
            default_root_dir=str(root),
            callbacks=[pl.callbacks.ModelCheckpoint(dirpath=str(root / "ckpt"), save_top_k=-1)],
            checkpoint_callback=True,
        )
    trainer = quiet_trainer(**flags)
    trainer.fit(model)
    return model, trainer


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Single-process run of 2 epochs, saving a checkpoint per epoch."""
    root = tmp_path_factory.mktemp("single")
    model, trainer = train_single_process(2, root)
    return {
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "callback_metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
        "ckpt_dir": root / "ckpt",
    }


@pytest.fixture(scope="session")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`accelerator='ddp'` with 2 CPU processes of batch 4, 2 epochs, logger and checkpoints on."""
    out = tmp_path_factory.mktemp("ddp")
    result = run_script(out, "--checkpoints")
    result["out"] = out
    return result
