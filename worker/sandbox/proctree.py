"""A sandbox's processes as the host sees them, from /proc."""

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path


def children(pid: int) -> list[int]:
    """The direct children of `pid` (of any of its threads); [] once it is gone."""
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found += [
                    int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                ]
    return found


def innermost_pid(pid: int) -> int | None:
    """A process's pid in the innermost PID namespace it belongs to."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None


def threads_of(pids: Iterable[int]) -> list[int]:
    """Every thread id of `pids` (processes that are gone are skipped)."""
    tids = []
    for pid in pids:
        with contextlib.suppress(OSError):
            tids += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    return tids
