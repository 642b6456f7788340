"""`python -m worker.sandbox.supervisor`: PID 1 of a sandbox.

Preloads what run children import (torch, ...; see worker.warm_start), says `ready`, and
waits for the worker's `go`; then forks the run child (or executes a program), reaps every
orphan of the namespace, and reports the child's exit. When the run's child exits, when the
control pipe reaches EOF (the worker died), or when the lease lapses (the worker stopped
renewing it: paused, or cut off), it kills every process of the sandbox and exits, and the
kernel ends the PID namespace with it.

As PID 1 it receives no signal from inside the sandbox that it has no handler for (not even
SIGKILL), and it is not dumpable, so the run's code (same uid) can neither stop nor ptrace it.
"""

import argparse
import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import NoReturn

from worker.sandbox.protocol import (
    ControlAdapter,
    Exited,
    Forked,
    Go,
    Lease,
    LeaseExpired,
    Ready,
    Refused,
    Signal,
    encode,
)
from worker.warm_start import NOTICE_FD, exit_as_run_child, preload

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value})")


def _set_dumpable(dumpable: bool) -> None:
    _prctl(_PR_SET_DUMPABLE, int(dumpable))


class _Status:
    """The status pipe, written by the main and the reaper thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: Ready | Forked | Exited | LeaseExpired | Refused) -> None:
        # A worker that is gone cannot be told; the control pipe's EOF ends us then.
        with self._lock, contextlib.suppress(OSError):
            os.write(self._fd, encode(message))


def _end() -> NoReturn:
    """Kill every process of the sandbox (all but PID 1) and exit; the namespace goes too."""
    with contextlib.suppress(ProcessLookupError):  # nothing else is left
        os.kill(-1, signal.SIGKILL)
    os._exit(0)


def _child(go: Go, fds: argparse.Namespace) -> NoReturn:
    """In the forked child: the run's own session, its pipes, its environment."""
    try:
        os.setsid()
        _set_dumpable(True)  # the run's own processes stay debuggable by the run
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(fds.stdout, 1)
        os.dup2(fds.stderr, 2)
        os.dup2(fds.notice, NOTICE_FD)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.closerange(NOTICE_FD + 1, 1 << 16)  # the control and status pipes stay ours
        if go.run_child:
            exit_as_run_child(go.argv, go.cwd, go.env)
        os.chdir(go.cwd)
        os.execvpe(go.argv[0], go.argv, go.env | {"RUNYARD_NOTICE_FD": str(NOTICE_FD)})
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(127)


def _reap(child: int, status: _Status) -> NoReturn:
    """As init, reap every process that ends in the namespace; report the run child's exit."""
    while True:
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except ChildProcessError:
            status.send(Exited(returncode=-signal.SIGKILL))
            _end()
        if pid == child:
            status.send(Exited(returncode=os.waitstatus_to_exitcode(wait_status)))
            _end()


def _lines(fd: int, timeout: "_Deadline") -> Iterator[bytes | None]:
    """Lines from the control pipe; None each time the lease lapses. Ends at EOF."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    buffer = b""
    while True:
        if not poller.poll(timeout.milliseconds()):
            if timeout.lapsed():
                yield None
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete


class _Deadline:
    def __init__(self) -> None:
        self.at: float | None = None

    def extend(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def milliseconds(self) -> int | None:
        return None if self.at is None else max(0, int((self.at - time.monotonic()) * 1000) + 1)

    def lapsed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


def serve(fds: argparse.Namespace, modules: tuple[str, ...]) -> NoReturn:
    status = _Status(fds.status)
    preload(modules)
    status.send(Ready())
    lease = _Deadline()
    child: int | None = None
    for line in _lines(fds.control, lease):
        if line is None:
            status.send(LeaseExpired())
            _end()
        if not line.strip():
            continue
        message = ControlAdapter.validate_json(line)
        if isinstance(message, Go) and child is None:
            lease.extend(message.lease_seconds)
            try:
                child = os.fork()
            except OSError as exc:
                status.send(Refused(reason=f"could not fork the run's process: {exc}"))
                _end()
            if child == 0:
                _child(message, fds)
            status.send(Forked(pid=child))
            threading.Thread(target=_reap, args=(child, status), daemon=True).start()
        elif isinstance(message, Lease):
            lease.extend(message.seconds)
        elif isinstance(message, Signal) and child is not None:
            with contextlib.suppress(ProcessLookupError):
                # -1: every process of the run, not ourselves.
                os.kill(child if message.main_only else -1, message.number)
    _end()  # EOF: the worker is gone, and the run goes with it


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m worker.sandbox.supervisor")
    for name in ("control", "status", "stdout", "stderr", "notice"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--preload", default="", help="modules to import before `ready`")
    parser.add_argument("--background", action="store_true", help="preload at idle priority")
    args = parser.parse_args(argv)
    _set_dumpable(False)
    # bubblewrap's --die-with-parent was cleared when setpriv changed our uid: arm it again
    # (the control pipe's EOF covers a worker that died before this line).
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    # Init ignores signals from inside its namespace only where it has no handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if args.background:
        # A spare must not slow down the run that just started; the worker restores the
        # normal policy when it hands the spare a run.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        serve(args, tuple(m for m in args.preload.split(",") if m))
    except Exception:
        traceback.print_exc()
        _end()


if __name__ == "__main__":
    main()
