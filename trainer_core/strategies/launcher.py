"""The parent side of rank supervision: start ranks, watch them, stop them all on a failure.

Both launch styles use it: `ddp` re-executes the user's script once per extra local rank
(`start_script_ranks`), `ddp_spawn` starts `multiprocessing` children (see `ddp_spawn.py`).
The contract: when any rank raises or is killed, every other rank is stopped within seconds,
the run ends with a non-zero exit, and the error names the failing rank and carries its
traceback. A rank blocked in a collective cannot be interrupted from Python, so the watchdog
ends this process itself if the main thread has not taken over shortly after a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from trainer_core.exceptions import MisconfigurationException
from trainer_core.strategies.process_death import ERROR_FILE_VARIABLE, die_with_parent

POLL_INTERVAL_S = 0.1
# How long the main thread gets to notice a failed rank (its collective errors out) before the
# watchdog ends the process; well inside the 30 s a failed run may take to end.
TAKEOVER_GRACE_S = 5.0
TERMINATE_GRACE_S = 3.0


@dataclass
class RankProcess:
    """One started rank: its global rank, pid, error file, and how to read its exit code."""

    rank: int
    pid: int
    error_file: str
    exit_code: Callable[[], int | None]


@dataclass(frozen=True)
class RankFailure:
    rank: int
    pid: int
    exit_code: int
    traceback: str

    def describe(self) -> str:
        if self.exit_code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-self.exit_code).name}"
            except ValueError:
                how = f"was killed by signal {-self.exit_code}"
        else:
            how = f"exited with code {self.exit_code}"
        detail = (
            f"Its traceback:\n{self.traceback.rstrip()}"
            if self.traceback
            else "It left no traceback (killed from outside, e.g. out of memory or a kill signal; "
            "see its stderr and the system log)."
        )
        return (
            f"Rank {self.rank} (pid {self.pid}) of the distributed run {how}; the other ranks were "
            f"stopped. {detail}\nFix the failing rank's error and start the run again (resume with "
            "resume_from_checkpoint to keep the progress saved so far)."
        )


@dataclass
class RankSupervisor:
    """Watches started ranks; on the first failure, stops the rest."""

    children: list[RankProcess]
    _handled: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _first: RankFailure | None = None
    _watchdog: threading.Thread | None = None

    def first_failure(self) -> RankFailure | None:
        """The first failure observed: the root cause, not the ranks that broke because of it."""
        if self._first is not None:
            return self._first
        for child in self.children:
            code = child.exit_code()
            if code is not None and code != 0:
                self._first = RankFailure(child.rank, child.pid, code, _read(child.error_file))
                return self._first
        return None

    def all_exited(self) -> bool:
        return all(child.exit_code() is not None for child in self.children)

    def wait_for_failure(self, timeout_s: float) -> RankFailure | None:
        """A failure seen within `timeout_s` (a rank that broke a collective may still be exiting)."""
        deadline = time.monotonic() + timeout_s
        while True:
            failure = self.first_failure()
            if failure is not None or time.monotonic() >= deadline or self.all_exited():
                return failure
            time.sleep(POLL_INTERVAL_S)

    def wait_all(self) -> RankFailure | None:
        """Block until every rank exited cleanly, or return the first failure."""
        while True:
            failure = self.first_failure()
            if failure is not None or self.all_exited():
                return failure
            time.sleep(POLL_INTERVAL_S)

    def take_over(self) -> None:
        """The main thread reports the failure itself; the watchdog must not end the process."""
        self._handled.set()

    def terminate_all(self) -> None:
        """SIGTERM every live rank, then SIGKILL what is left after a short grace period."""
        with self._lock:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                live = [c for c in self.children if c.exit_code() is None]
                for child in live:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.pid, sig)
                deadline = time.monotonic() + TERMINATE_GRACE_S
                while time.monotonic() < deadline and any(
                    c.exit_code() is None for c in self.children
                ):
                    time.sleep(POLL_INTERVAL_S)

    def start_watchdog(self) -> None:
        self._watchdog = threading.Thread(
            target=self._watch, name="trainer-core-rank-watchdog", daemon=True
        )
        self._watchdog.start()

    def _join_watchdog(self) -> None:
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            self.take_over()
            watchdog.join(timeout=TAKEOVER_GRACE_S)

    def _watch(self) -> None:
        while not self._handled.is_set():
            failure = self.first_failure()
            if failure is not None:
                if self._handled.wait(TAKEOVER_GRACE_S):
                    return
                # The main thread is stuck (e.g. in a collective with the dead rank): end here.
                print(f"\n[trainer_core] {failure.describe()}", file=sys.stderr, flush=True)
                self.terminate_all()
                os._exit(1)
            if self.all_exited():
                return
            time.sleep(POLL_INTERVAL_S)

    def join_at_exit(self, timeout_s: float = 60.0) -> None:
        """At interpreter exit: let ranks finish the script, then stop stragglers."""
        if self._handled.is_set():  # the failure was reported by the main thread already
            self.terminate_all()
            self._join_watchdog()
            return
        deadline = time.monotonic() + timeout_s
        while not self.all_exited() and time.monotonic() < deadline:
            if self.first_failure() is not None:
                break
            time.sleep(POLL_INTERVAL_S)
        failure = self.first_failure()
        self.take_over()
        self.terminate_all()
        self._join_watchdog()
        if failure is not None:
            print(f"\n[trainer_core] {failure.describe()}", file=sys.stderr, flush=True)
            os._exit(1)


def script_command() -> list[str]:
    """The command line that re-runs this process's script (`python x.py` or `python -m pkg`)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return [sys.executable, "-m", spec.name, *sys.argv[1:]]
    path = getattr(main, "__file__", None)
    if not path or sys.argv[0] in ("", "-c"):
        raise MisconfigurationException(
            "accelerator='ddp' starts one more copy of your script per extra process, but this Python "
            "session has no script file (interactive shell, notebook or -c). Run a script, or use "
            "accelerator='ddp_spawn' (or 'ddp_cpu') which starts the processes from here."
        )
    return [sys.executable, os.path.abspath(path), *sys.argv[1:]]


def start_script_ranks(
    local_ranks: Sequence[int],
    global_rank_of: Callable[[int], int],
    env: Mapping[str, str],
    error_dir: str,
) -> RankSupervisor:
    """Re-run the script once per local rank with LOCAL_RANK set; watch the children."""
    command = script_command()
    parent_pid = os.getpid()
    children: list[RankProcess] = []
    for local_rank in local_ranks:
        rank = global_rank_of(local_rank)
        error_file = os.path.join(error_dir, f"rank_{rank}.err")
        child_env = {
            **os.environ,
            **env,
            "LOCAL_RANK": str(local_rank),
            ERROR_FILE_VARIABLE: error_file,
        }
        proc = subprocess.Popen(
            command,
            env=child_env,
            preexec_fn=lambda: die_with_parent(parent_pid),
        )
        children.append(RankProcess(rank, proc.pid, error_file, proc.poll))
    supervisor = RankSupervisor(children)
    supervisor.start_watchdog()
    # atexit runs last-registered first: ranks are joined (and their errors read) before the
    # folder with their error files goes
    atexit.register(shutil.rmtree, error_dir, True)
    atexit.register(supervisor.join_at_exit)
    return supervisor


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""
