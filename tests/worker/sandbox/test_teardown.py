"""No process of a run outlives it: not when it ends, is canceled or loses its lease, nor when
its worker is killed or paused; not even processes that called setsid or double-forked."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker.polling import wait_for
from tests.worker.sandbox.conftest import REPO, live_processes_of, needs_sandbox
from tests.worker.sandbox.escapees import escapees
from worker.sandbox.cgroups import V1Cgroup

pytestmark = needs_sandbox


def up_count(rec) -> int:
    return len([line for line in rec.text() if line.startswith("UP ")])


def test_setsid_and_double_forked_processes_die_when_the_run_ends(sandboxes):
    process, rec = sandboxes.python(escapees(exit_after=True))
    result = process.wait(timeout=60)
    assert result.outcome == "completed", rec.lines
    assert up_count(rec) == 3
    assert live_processes_of(process.uid) == []
    assert process.cgroup is None or not process.cgroup.exists()


def test_cancel_terminates_then_kills_every_process_of_the_run(sandboxes):
    process, rec = sandboxes.python(escapees())
    wait_for(lambda: up_count(rec) == 3, timeout=60, what="the run and its escapees")
    process.cancel(grace_seconds=0.5, reason="canceled by alice")
    result = process.wait(timeout=30)
    assert result.outcome == "canceled" and result.reason == "canceled by alice"
    assert live_processes_of(process.uid) == []


def test_cancel_before_start_ends_the_sandbox(sandboxes):
    process = sandboxes.acquire()
    process.cancel(grace_seconds=1, reason="canceled before it started")
    assert not process.alive and live_processes_of(process.uid) == []


def test_a_lapsed_lease_tears_the_run_down(sandboxes):
    process, rec = sandboxes.python(escapees(), lease_seconds=1.0)
    result = process.wait(timeout=60)
    assert result.outcome == "killed" and "lease" in result.reason, (result, rec.lines)
    assert live_processes_of(process.uid) == []


def test_a_renewed_lease_keeps_the_run_going(sandboxes):
    process, rec = sandboxes.python("import time; time.sleep(4); print('done')", lease_seconds=2.0)
    while True:
        try:
            result = process.wait(timeout=0.3)
            break
        except subprocess.TimeoutExpired:
            process.renew_lease(2.0)
    assert result.outcome == "completed" and rec.text() == ["done"], (result, rec.lines)


def _start_owner(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict]:
    owner = subprocess.Popen(
        [sys.executable, "-m", "tests.worker.sandbox.owner", str(tmp_path), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line, "the owner exited before its run was up"
    return owner, json.loads(line)


def _clean_up_after(owner: subprocess.Popen[str], info: dict) -> None:
    """What the dead owner could not: its run's cgroups (empty by now)."""
    owner.kill()
    owner.wait()
    V1Cgroup(True, {str(i): Path(d) for i, d in enumerate(info["cgroups"])}).remove()


@pytest.fixture
def owner_of(tmp_path):
    started = []

    def start(*extra: str) -> tuple[subprocess.Popen[str], dict]:
        owner, info = _start_owner(tmp_path, *extra)
        started.append((owner, info))
        return owner, info

    yield start
    for owner, info in started:
        with_cont = owner.poll() is None
        if with_cont:
            os.kill(owner.pid, signal.SIGCONT)
        _clean_up_after(owner, info)


def test_sigkill_of_the_owning_worker_takes_the_run_with_it(owner_of):
    owner, info = owner_of()
    assert live_processes_of(info["uid"])  # the run and its escapees are up
    os.kill(owner.pid, signal.SIGKILL)
    wait_for(lambda: not live_processes_of(info["uid"]), timeout=30, what="the run to die")


def test_a_paused_worker_loses_its_runs_when_the_lease_lapses(owner_of):
    owner, info = owner_of("--lease", "1.0")
    assert live_processes_of(info["uid"])
    os.kill(owner.pid, signal.SIGSTOP)  # the owner stops renewing; its pipes stay open
    wait_for(lambda: not live_processes_of(info["uid"]), timeout=30, what="the run to die")
    assert owner.poll() is None  # the owner itself is only paused
