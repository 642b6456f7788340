"""Limits from the spec, through the run's cgroup: memory (a run over it fails at once with
the reason, it does not hang) and processes; cgroup v2 joins and teardown where this machine
has v2; and runs without limits, saying so, where no cgroup is usable."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.worker.polling import wait_for
from tests.worker.sandbox.conftest import (
    Sandboxes,
    live_processes_of,
    needs_sandbox,
    sandbox_config,
)
from tests.worker.sandbox.escapees import escapees
from worker.sandbox import Limits, SandboxPool
from worker.sandbox.cgroup_layout import CgroupLayout, discover, move_into_leaf

pytestmark = needs_sandbox

LAYOUT, LAYOUT_NOTE = discover()
needs_limits = pytest.mark.skipif(
    LAYOUT is None or not LAYOUT.limits, reason=f"no cgroup limits here: {LAYOUT_NOTE}"
)
UNIFIED = Path("/sys/fs/cgroup/unified")
V2_ROOT = UNIFIED if (UNIFIED / "cgroup.controllers").exists() else Path("/sys/fs/cgroup")
HAS_V2 = (V2_ROOT / "cgroup.controllers").exists() and os.access(V2_ROOT, os.W_OK)
needs_v2 = pytest.mark.skipif(not HAS_V2, reason="no writable cgroup v2 hierarchy here")


@needs_limits
def test_a_run_over_its_memory_limit_fails_with_the_reason(sandboxes):
    result, rec, process = sandboxes.run(
        """
        import time
        hog = []
        while True:
            hog.append(b"x" * (32 << 20))  # touched, so really resident
            time.sleep(0.01)
        """,
        limits=Limits(memory=512 << 20),
    )
    assert result.outcome == "killed", (result, rec.lines)
    assert result.reason.startswith("exceeded its memory limit of 512 MiB"), result.reason
    assert live_processes_of(process.uid) == []


@needs_limits
def test_a_memory_kill_of_one_process_ends_the_whole_run_at_once(sandboxes):
    # The hog is a child the run waits for forever: without the cgroup's OOM record the run
    # would hang.
    result, _rec, process = sandboxes.run(
        """
        import subprocess, sys
        subprocess.run([sys.executable, "-c",
            "hog = []\\nwhile True: hog.append(b'x' * (32 << 20))"])
        import time
        time.sleep(600)
        """,
        limits=Limits(memory=512 << 20),
    )
    assert result.outcome == "killed" and "memory limit of 512 MiB" in result.reason, result
    assert live_processes_of(process.uid) == []


@needs_limits
def test_the_process_limit_stops_a_fork_bomb(sandboxes):
    result, rec, process = sandboxes.run(
        """
        import os, time
        children = 0
        try:
            while children < 1000:
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
                children += 1
        finally:
            print("forked", children, flush=True)
        """,
        limits=Limits(processes=64),
    )
    forked = int(rec.text()[0].split()[1])
    assert forked < 64
    assert result.outcome == "failed" and "BlockingIOError" in result.reason
    assert "limit of 64 processes" in result.reason
    assert live_processes_of(process.uid) == []


def test_without_cgroups_a_run_starts_without_limits_and_says_so(tmp_path):
    pool = SandboxPool(sandbox_config(tmp_path, cgroups=None, cgroup_note="no cgroups here"))
    pool.start()
    held = Sandboxes(pool)
    try:
        result, rec, process = held.run("print('ran')", limits=Limits(memory=1 << 30))
        assert result.outcome == "completed" and rec.text() == ["ran"]
        assert "NO memory or process limits (no cgroups here)" in process.describe()
    finally:
        held.release_all()
        pool.close()


@pytest.fixture
def v2_parent():
    """A cgroup v2 directory standing in for a worker's own cgroup."""
    parent = V2_ROOT / f"rytest-{uuid.uuid4().hex[:8]}"
    parent.mkdir()
    yield parent
    for child in sorted(parent.iterdir(), reverse=True):
        if child.is_dir():
            child.rmdir()
    parent.rmdir()


@needs_v2
def test_on_cgroup_v2_a_sandbox_joins_its_cgroup_and_is_killed_through_it(tmp_path, v2_parent):
    layout = CgroupLayout(2, {"": v2_parent}, False, "cgroup v2 (test)")
    pool = SandboxPool(sandbox_config(tmp_path, cgroups=layout, cgroup_note="test"))
    pool.start()
    held = Sandboxes(pool)
    try:
        process, rec = held.python(escapees())
        wait_for(
            lambda: len([ln for ln in rec.text() if ln.startswith("UP ")]) == 3,
            timeout=60,
            what="the run and its escapees",
        )
        assert process.cgroup is not None
        cgroup = process.cgroup.dirs[""]
        members = process.cgroup.pids()
        # bubblewrap, the supervisor, the run and both escapees: all joined before any exec.
        assert len(members) == 5 and set(live_processes_of(process.uid)) <= set(members)
        process.cancel(grace_seconds=0, reason="stop")
        assert process.wait(timeout=30).outcome == "canceled"
        assert not cgroup.exists() and live_processes_of(process.uid) == []
    finally:
        held.release_all()
        pool.close()


@needs_v2
def test_cgroup_kill_ends_every_process_of_a_v2_cgroup(v2_parent):
    layout = CgroupLayout(2, {"": v2_parent}, False, "cgroup v2 (test)")
    cgroup = layout.create("runyard-test")
    sleeper = subprocess.Popen(
        ["/bin/sh", "-c", 'echo $$ > "$1"; exec sleep 600', "sh", str(cgroup.procs_files[0])]
    )
    wait_for(lambda: cgroup.pids() == [sleeper.pid], timeout=10, what="the sleeper to join")
    cgroup.kill_all()
    assert sleeper.wait(timeout=10) == -9 and cgroup.is_empty()
    cgroup.remove()
    assert not (v2_parent / "runyard-test").exists()


@needs_v2
def test_a_worker_in_a_v2_cgroup_moves_itself_into_a_leaf(v2_parent):
    sleeper = subprocess.Popen(
        ["/bin/sh", "-c", 'echo $$ > "$1"; exec sleep 600', "sh", str(v2_parent / "cgroup.procs")]
    )
    try:
        wait_for(
            lambda: str(sleeper.pid) in (v2_parent / "cgroup.procs").read_text(),
            timeout=10,
            what="the stand-in worker to join",
        )
        leaf = move_into_leaf(v2_parent)
        assert (v2_parent / "cgroup.procs").read_text().split() == []
        assert (leaf / "cgroup.procs").read_text().split() == [str(sleeper.pid)]
    finally:
        sleeper.kill()
        sleeper.wait()


@needs_v2
@pytest.mark.skipif(
    not {"memory", "pids"} <= set((V2_ROOT / "cgroup.controllers").read_text().split())
    if HAS_V2
    else True,
    reason="this machine's cgroup v2 has no memory and pids controllers (they live in v1 "
    "here), so v2 memory limits cannot be tested on it",
)
def test_on_cgroup_v2_a_run_over_its_memory_limit_fails_with_the_reason(tmp_path):
    layout, _ = discover(delegate=True)
    assert layout is not None and layout.version == 2
    pool = SandboxPool(sandbox_config(tmp_path, cgroups=layout))
    pool.start()
    held = Sandboxes(pool)
    try:
        result, _, _ = held.run(
            "hog = []\nwhile True: hog.append(b'x' * (32 << 20))", limits=Limits(memory=512 << 20)
        )
        assert result.outcome == "killed" and "memory limit of 512 MiB" in result.reason
    finally:
        held.release_all()
        pool.close()
