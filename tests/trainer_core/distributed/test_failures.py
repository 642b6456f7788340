"""A failing rank ends the whole `ddp` run quickly, with its error, leaving no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.trainer_core.distributed.conftest import alive, descendants, start_script
from tests.worker.polling import wait_for

pytestmark = pytest.mark.slow

END_DEADLINE_S = 30.0  # the contract: a failed run is over within 30 seconds
STARTUP_TIMEOUT_S = 180.0  # two interpreters importing torch on a busy machine


def _start_long_run(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], Path]:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    proc = start_script(tmp_path, "--max-epochs", "100000", "--pid-dir", str(pid_dir), *flags)
    return proc, pid_dir


def _wait_for_rank_pids(proc: subprocess.Popen[str], pid_dir: Path) -> dict[int, int]:
    files = [pid_dir / "rank_0.pid", pid_dir / "rank_1.pid"]
    wait_for(
        lambda: all(f.exists() for f in files) or proc.poll() is not None,
        timeout=STARTUP_TIMEOUT_S,
        what="both ranks to start training",
    )
    assert proc.poll() is None, proc.communicate()[0]
    return {rank: int(f.read_text()) for rank, f in enumerate(files)}


def test_a_rank_that_raises_ends_the_run_with_its_traceback(tmp_path: Path) -> None:
    proc = start_script(tmp_path, "--max-epochs", "100000", "--raise-on-rank", "1")
    output, _ = proc.communicate(timeout=STARTUP_TIMEOUT_S + END_DEADLINE_S)
    assert proc.returncode != 0
    assert "DistributedRunError: Rank 1" in output
    assert "ValueError: boom on rank 1" in output  # the failing rank's own traceback


def test_killing_a_rank_mid_epoch_ends_the_run_within_30s_without_orphans(tmp_path: Path) -> None:
    proc, pid_dir = _start_long_run(tmp_path)
    pids = _wait_for_rank_pids(proc, pid_dir)
    tree = descendants(proc.pid)
    assert pids[1] in tree
    os.kill(pids[1], signal.SIGKILL)
    output, _ = proc.communicate(timeout=END_DEADLINE_S)
    assert proc.returncode != 0
    assert "Rank 1" in output and "SIGKILL" in output
    assert not [pid for pid in tree if alive(pid)]


def test_killing_rank_zero_takes_the_other_ranks_down(tmp_path: Path) -> None:
    proc, pid_dir = _start_long_run(tmp_path)
    pids = _wait_for_rank_pids(proc, pid_dir)
    tree = descendants(proc.pid)
    os.kill(pids[0], signal.SIGKILL)  # rank 0 is the launching process itself
    proc.communicate(timeout=END_DEADLINE_S)
    wait_for(
        lambda: not any(alive(pid) for pid in tree),
        timeout=END_DEADLINE_S,
        what="rank 1 to die with rank 0",
    )
    assert proc.returncode == -signal.SIGKILL
