"""One run in one sandbox, with the interface of worker.process_group.RunProcess.

A SandboxProcess comes from `SandboxPool.acquire()` already started (bubblewrap plus a
supervisor that has preloaded torch), with its own uid, directories and cgroup. The worker
fills `code_dir` and `work_dir`, then `start(...)` applies the limits and sends `go`; the
supervisor forks the run's child. `wait()` returns the classified exit once every process of
the sandbox is gone; `release()` removes the directories and gives the uid back.
"""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from runyard.schemas.sizes import format_memory
from worker.process_group import ChildExit, LineSink, NoticeSink, pump_lines, pump_notices
from worker.sandbox.cgroups import RunCgroup
from worker.sandbox.errors import SandboxError
from worker.sandbox.exits import Limits, SandboxEnd, classify_sandbox_exit
from worker.sandbox.identity import SandboxIdentity
from worker.sandbox.proctree import children, innermost_pid, threads_of
from worker.sandbox.protocol import (
    Exited,
    Forked,
    Go,
    Lease,
    LeaseExpired,
    Ready,
    Refused,
    Signal,
    StatusAdapter,
    encode,
)

log = logging.getLogger(__name__)

OOM_POLL_SECONDS = 0.2
SANDBOX_USER = "runyard"


@dataclass
class SandboxPipes:
    """The worker's ends of a sandbox's pipes."""

    control: int
    status: int
    stdout: int
    stderr: int
    notice: int

    def close_all(self) -> None:
        for fd in (self.control, self.status, self.stdout, self.stderr, self.notice):
            with contextlib.suppress(OSError):
                os.close(fd)


class SandboxProcess:
    """A sandbox holding (at most) one run. `start()`, then `wait()`; `cancel()` from any
    thread; `release()` when done with its directories."""

    def __init__(
        self,
        *,
        identity: SandboxIdentity,
        root: Path,
        work_dir: Path,
        code_dir: Path,
        cgroup: RunCgroup | None,
        cgroup_note: str,
        bwrap: subprocess.Popen[bytes],
        pipes: SandboxPipes,
        stderr_tail_lines: int = 400,
    ) -> None:
        self.identity = identity
        self.root = root
        self.work_dir = work_dir
        """The run's only writable directory (owned by the sandbox's uid, mode 700)."""
        self.code_dir = code_dir
        """Read-only inside the sandbox; the worker unpacks the run's bundle here."""
        self.cgroup = cgroup
        self._cgroup_note = cgroup_note
        self._bwrap = bwrap
        self._pipes = pipes
        self._tail: deque[str] = deque(maxlen=stderr_tail_lines)
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._forked = threading.Event()
        self._finished = threading.Event()
        self._inner_pid: int | None = None
        self._host_pid: int | None = None
        self._returncode: int | None = None
        self._refused: str | None = None
        self._lease_expired = False
        self._oom_baseline = 0
        self._oom = False
        self._limits = Limits()
        self._started = False
        self._torn_down = False
        self._gone = threading.Event()
        self._pids_limit_hits = 0
        self._released = False
        self._cancel_reason: str | None = None
        self._readers: list[threading.Thread] = []
        threading.Thread(target=self._read_status, name="sandbox-status", daemon=True).start()

    # --- what the worker reads ------------------------------------------------------------

    @property
    def uid(self) -> int:
        return self.identity.uid

    @property
    def ready(self) -> bool:
        """The supervisor has preloaded; `start()` forks the run at once."""
        return self._ready.is_set()

    @property
    def alive(self) -> bool:
        return self._bwrap.poll() is None and not self._finished.is_set()

    @property
    def lease_expired(self) -> bool:
        """The sandbox stopped the run itself: its worker did not renew the lease in time."""
        return self._lease_expired

    @property
    def pid(self) -> int | None:
        """The run child's pid on the host (None before it is forked or once it is gone)."""
        if self._host_pid is None and self._inner_pid is not None:
            for pid in self._tree_below_bwrap(depth=2):
                if innermost_pid(pid) == self._inner_pid:
                    self._host_pid = pid
        return self._host_pid

    def describe(self) -> str:
        """One line for the run's log: who the run is and what bounds it."""
        limits = []
        if self.cgroup is not None and self.cgroup.limits:
            memory = self._limits.memory
            limits.append(f"memory {format_memory(memory)}" if memory else "no memory limit")
            if self._limits.processes is not None:
                limits.append(f"{self._limits.processes} processes")
            bounds = ", ".join(limits)
        else:
            bounds = f"NO memory or process limits ({self._cgroup_note})"
        return f"sandbox: uid {self.uid}, own PID and mount namespaces; {bounds}"

    # --- the run --------------------------------------------------------------------------

    def start(
        self,
        *,
        env: Mapping[str, str],
        on_line: LineSink,
        on_notice: NoticeSink | None = None,
        plan: Path | None = None,
        argv: Sequence[str] | None = None,
        limits: Limits | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        """Run `python -m worker.run_child <plan>` (forked from the preloaded supervisor) or,
        with `argv`, that program, in `work_dir` with exactly `env` (HOME, USER and TMPDIR
        are the sandbox's). `lease_seconds`: the run is torn down unless `renew_lease` is
        called within that time (None: it lives as long as the worker).

        SandboxError: the run did not start (the sandbox died, or its limits could not be
        applied); the sandbox is torn down, `release()` it."""
        if (plan is None) == (argv is None):
            raise ValueError("give either plan or argv")
        with self._lock:
            if self._started:
                raise SandboxError("this sandbox already ran a run; acquire another")
            if self._cancel_reason is not None or self._torn_down:
                raise SandboxError("this sandbox was canceled before it started")
            self._started = True
            self._limits = limits or Limits()
            try:
                if not self.alive:
                    raise SandboxError(self._death_reason())
                self._apply_limits()
            except SandboxError:
                self._teardown()
                raise
            self._restore_priority()
            run_env = dict(env) | {
                "HOME": str(self.work_dir),
                "USER": SANDBOX_USER,
                "LOGNAME": SANDBOX_USER,
                "TMPDIR": "/tmp",
            }
            go = Go(
                argv=[str(plan)] if plan is not None else list(argv or ()),
                run_child=plan is not None,
                cwd=str(self.work_dir),
                env=run_env,
                lease_seconds=lease_seconds,
            )
            for stream, fd in (("stdout", self._pipes.stdout), ("stderr", self._pipes.stderr)):
                self._spawn_reader(
                    stream, pump_lines, self._reopen(fd), stream, on_line, self._tail
                )
            self._spawn_reader("notice", pump_notices, self._reopen(self._pipes.notice), on_notice)
            self._send(go)
            if self.cgroup is not None and self._limits.memory is not None:
                threading.Thread(target=self._watch_memory, name="sandbox-oom", daemon=True).start()

    def _apply_limits(self) -> None:
        if self.cgroup is None or not self.cgroup.limits:
            return
        tasks = None
        if self._limits.processes is not None:
            # The sandbox's own processes (bubblewrap, the supervisor's threads) come on top.
            tasks = self._limits.processes + len(self._sandbox_tasks())
        try:
            self.cgroup.apply_limits(self._limits.memory, tasks)
        except SandboxError as exc:
            raise SandboxError(f"could not apply the run's limits: {exc}") from exc
        self._oom_baseline = self.cgroup.oom_kills()

    def _sandbox_tasks(self) -> list[int]:
        """Every thread of every process of the sandbox, on the host."""
        return threads_of([self._bwrap.pid, *self._tree_below_bwrap()])

    def _restore_priority(self) -> None:
        """A spare preloads at idle priority; its run gets the normal one (only root may
        raise it again, so the worker does it, thread by thread)."""
        for tid in self._sandbox_tasks():
            with contextlib.suppress(OSError):
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))

    def renew_lease(self, seconds: float) -> None:
        """The run may go on for at most `seconds` more unless renewed again."""
        if self._started and not self._finished.is_set():
            self._send(Lease(seconds=seconds))

    def signal_main(self, number: int) -> None:
        """Send a signal to the run's main process only (not its helpers)."""
        if self._started:
            self._send(Signal(number=number, main_only=True))

    def cancel(self, grace_seconds: float, reason: str = "canceled") -> None:
        """SIGTERM to every process of the run; after `grace_seconds`, SIGKILL to all."""
        with self._lock:
            self._cancel_reason = reason
            started = self._started
        if not started:
            self._teardown()
            return
        self._send(Signal(number=signal.SIGTERM))
        self._finished.wait(grace_seconds)
        self._teardown()

    def wait(self, timeout: float | None = None) -> ChildExit:
        """The run's exit, once no process of the sandbox is left."""
        assert self._started, "start() first"
        if not self._finished.wait(timeout):
            raise subprocess.TimeoutExpired(["sandboxed run"], timeout or 0)
        self._teardown()
        deadline = time.monotonic() + 10
        for reader in self._readers:
            reader.join(timeout=max(0.0, deadline - time.monotonic()))
        return self._classify()

    def release(self) -> None:
        """Tear down (if still up), remove the cgroup and the directories, free the uid."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._teardown()
        shutil.rmtree(self.root, ignore_errors=True)
        self._pipes.close_all()
        self.identity.release()

    # --- inside -----------------------------------------------------------------------------

    def _send(self, message: Go | Lease | Signal) -> None:
        with self._lock:
            if self._released:
                return  # its descriptors are closed (their numbers may be reused)
            # A sandbox that is gone cannot be told; its status pipe says so.
            with contextlib.suppress(OSError):
                os.write(self._pipes.control, encode(message))

    @staticmethod
    def _reopen(fd: int) -> IO[bytes]:
        """A file of its own on the pipe (the original fd is closed by `release`)."""
        return os.fdopen(os.dup(fd), "rb")

    def _spawn_reader(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"sandbox-{name}", daemon=True)
        thread.start()
        self._readers.append(thread)

    def _read_status(self) -> None:
        with os.fdopen(os.dup(self._pipes.status), "rb") as pipe:
            for raw in pipe:
                try:
                    message = StatusAdapter.validate_json(raw)
                except ValidationError:
                    log.warning("sandbox u%s sent a malformed status line: %r", self.uid, raw)
                    continue
                if isinstance(message, Ready):
                    self._ready.set()
                elif isinstance(message, Forked):
                    self._inner_pid = message.pid
                    self._forked.set()
                elif isinstance(message, Exited):
                    self._returncode = message.returncode
                    self._finished.set()
                elif isinstance(message, LeaseExpired):
                    self._lease_expired = True
                elif isinstance(message, Refused):
                    self._refused = message.reason
        self._finished.set()  # EOF: the supervisor is gone

    def _watch_memory(self) -> None:
        assert self.cgroup is not None
        while not self._finished.wait(OOM_POLL_SECONDS):
            if self.cgroup.oom_kills() > self._oom_baseline:
                # One process was killed for memory; the rest of the run must not hang on it.
                self._oom = True
                self._teardown()
                return

    def _teardown(self) -> None:
        """Kill every process of the sandbox and wait until none is left; remove the cgroup."""
        with self._lock:
            first = not self._torn_down
            self._torn_down = True
        if not first:
            self._gone.wait()
            return
        try:
            # PID 1 first: the kernel kills the rest of its namespace, bubblewrap reaps it.
            for supervisor in self._tree_below_bwrap(depth=1):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(supervisor, signal.SIGKILL)
            try:
                self._bwrap.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._bwrap.kill()
                self._bwrap.wait()
            if self.cgroup is not None:
                if self.cgroup.oom_kills() > self._oom_baseline:
                    self._oom = True
                self._pids_limit_hits = self.cgroup.pids_limit_hits()
                try:
                    self.cgroup.kill_all()
                    self.cgroup.remove()
                except SandboxError as exc:
                    # The run's result stands; what is left is the operator's to see.
                    log.error("sandbox u%s was not fully torn down: %s", self.uid, exc)
        finally:
            self._finished.set()
            self._gone.set()

    def _tree_below_bwrap(self, depth: int | None = None) -> list[int]:
        """Host pids under bubblewrap (`depth` 1: the supervisor only). Empty once bubblewrap
        has been reaped, when its pid may already name another process."""
        if self._bwrap.poll() is not None:
            return []
        found: list[int] = []
        level, current = 0, [self._bwrap.pid]
        while current and (depth is None or level < depth):
            current = [c for pid in current for c in children(pid)]
            found += current
            level += 1
        return found

    def _death_reason(self) -> str:
        return (
            f"the sandbox exited before its run started (status {self._bwrap.poll()}); "
            "see the worker's log for bubblewrap's or the supervisor's message"
        )

    def _classify(self) -> ChildExit:
        end = SandboxEnd(
            returncode=self._returncode,
            canceled=self._cancel_reason,
            memory_killed=self._oom,
            lease_expired=self._lease_expired,
            refused=self._refused,
            pids_limit_hits=self._pids_limit_hits,
        )
        return classify_sandbox_exit(end, self._limits, self._tail)
