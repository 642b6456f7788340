"""`python -m tests.worker.sandbox.owner <tmp_dir> [--lease SECONDS]`: a stand-in worker that
owns one sandboxed run (which starts escapees: a setsid daemon and a double fork), prints
`{"uid", "cgroups", "root"}` once they all run, then renews the run's lease until it is killed
(or paused) by the test."""

import argparse
import json
import sys
import threading
from pathlib import Path

from tests.worker.sandbox.conftest import Recorder, sandbox_config
from tests.worker.sandbox.escapees import escapees
from worker.sandbox import SandboxPool


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tmp_dir", type=Path)
    parser.add_argument("--lease", type=float, default=None)
    args = parser.parse_args()
    pool = SandboxPool(sandbox_config(args.tmp_dir))
    pool.start()
    process = pool.acquire()
    recorder = Recorder()
    process.start(
        argv=[sys.executable, "-c", escapees()],
        env={"PYTHONUNBUFFERED": "1"},
        on_line=recorder.on_line,
        lease_seconds=args.lease,
    )
    up = threading.Event()
    while not up.wait(0.02):  # polling interval of a test helper, not synchronisation
        up_lines = [line for line in recorder.text() if line.startswith("UP ")]
        if len(up_lines) == 3:
            up.set()
    cgroups = [str(d) for d in process.cgroup.dirs.values()] if process.cgroup else []
    print(
        json.dumps({"uid": process.uid, "cgroups": cgroups, "root": str(process.root)}), flush=True
    )
    while True:
        if args.lease:
            process.renew_lease(args.lease)
        threading.Event().wait(args.lease / 5 if args.lease else 1.0)


if __name__ == "__main__":
    main()
