"""Per-sandbox uids: unique among all workers of the machine (lock files), freed when their
holder dies, never in use by a process, never an account's or the worker's."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.worker.polling import wait_for
from worker.sandbox.errors import SandboxError
from worker.sandbox.identity import allocate_uid, prepare_lock_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uid locks live in a root-only dir")

# A range of its own per test run, so sandboxes of other tests do not interfere.
BASE = 300000 + (uuid.uuid4().int % 1000) * 10


@pytest.fixture
def lock_dir(tmp_path):
    return tmp_path / "locks"


def test_two_holders_get_different_uids_and_a_released_uid_is_reused(lock_dir):
    first = allocate_uid(range(BASE, BASE + 3), lock_dir)
    second = allocate_uid(range(BASE, BASE + 3), lock_dir)
    assert first.uid != second.uid
    first.release()
    again = allocate_uid(range(BASE, BASE + 3), lock_dir)
    assert again.uid == first.uid
    second.release()
    again.release()


def test_a_uid_held_by_another_process_is_freed_when_that_process_dies(lock_dir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from worker.sandbox.identity import allocate_uid\n"
            f"held = allocate_uid(range({BASE}, {BASE + 1}), Path({str(lock_dir)!r}))\n"
            "print(held.uid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and int(holder.stdout.readline()) == BASE
    with pytest.raises(SandboxError, match="taken"):
        allocate_uid(range(BASE, BASE + 1), lock_dir)
    holder.kill()
    holder.wait()
    wait_for(lambda: _try(lock_dir), timeout=10, what="the dead holder's uid")


def _try(lock_dir):
    try:
        allocate_uid(range(BASE, BASE + 1), lock_dir).release()
    except SandboxError:
        return False
    return True


def test_a_uid_some_process_runs_under_is_skipped(lock_dir):
    squatter = subprocess.Popen(
        ["setpriv", f"--reuid={BASE}", "--regid=65534", "--clear-groups", "sleep", "60"]
    )
    try:
        wait_for(
            lambda: f"\t{BASE}\t" in Path(f"/proc/{squatter.pid}/status").read_text(),
            timeout=10,
            what="the squatter to change uid",
        )
        held = allocate_uid(range(BASE, BASE + 2), lock_dir)
        assert held.uid == BASE + 1
        held.release()
    finally:
        squatter.kill()
        squatter.wait()


def test_accounts_and_the_workers_own_uid_are_skipped(lock_dir):
    # 65534 is `nobody` on Debian; 0 is the worker's own uid here.
    held = allocate_uid(range(65534, 65536), lock_dir)
    assert held.uid == 65535
    held.release()
    with pytest.raises(SandboxError):
        allocate_uid(range(0, 1), lock_dir)


def test_a_lock_directory_others_can_enter_is_refused(tmp_path):
    lock_dir = tmp_path / "open-locks"
    lock_dir.mkdir(mode=0o755)
    lock_dir.chmod(0o755)
    with pytest.raises(SandboxError, match="mode 700"):
        prepare_lock_dir(lock_dir)
