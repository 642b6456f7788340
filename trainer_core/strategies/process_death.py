"""The child side of rank supervision: die with the parent, leave a traceback behind.

A rank started by a launcher must never outlive it (an orphan would hold a GPU and a port
forever), so every child asks the kernel for SIGKILL when its parent dies. If the parent
died before the request landed, the child exits at once instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import traceback

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
ERROR_FILE_VARIABLE = "TRAINER_CORE_RANK_ERROR_FILE"


def die_with_parent(parent_pid: int) -> None:
    """Arrange for this process to be killed when `parent_pid` ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            _watch_parent(parent_pid)  # prctl refused (e.g. seccomp): fall back to polling
    else:
        _watch_parent(parent_pid)
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent is already gone; the death signal would never come


def _watch_parent(parent_pid: int) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="trainer-core-parent-watch", daemon=True).start()


def write_error_file(path: str, rank: int, exc: BaseException) -> None:
    """Leave this rank's traceback where the launcher reads it when reporting the failure."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        with open(path, "w") as fh:
            fh.write(text)
    except OSError:
        print(f"[rank {rank}] could not write its error file {path}", file=sys.stderr)
