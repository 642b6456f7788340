"""One cgroup per sandbox: memory and process limits, out-of-memory kills, and a teardown
that leaves no process behind.

Run cgroups live beneath the worker's own cgroup in each hierarchy (see cgroup_layout.py). A
sandbox's first process joins them before it executes anything (see `join_command`), so
every process of the run is counted from the start.
"""

import contextlib
import errno
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from worker.sandbox.errors import SandboxError

# Joins the cgroup.procs files given before `--`, then becomes the command after it: the
# process is in its cgroups before it executes anything (no race with its first fork).
_JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class RunCgroup:
    """The cgroup(s) of one sandbox: one directory (v2) or one per controller (v1)."""

    def __init__(self, limits: bool, dirs: Mapping[str, Path]) -> None:
        self.limits = limits
        self.dirs = dict(dirs)

    @property
    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs.values()]

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.dirs.values())

    def make(self) -> None:
        for directory in self.dirs.values():
            try:
                directory.mkdir()
            except OSError as exc:
                raise SandboxError(f"could not create the cgroup {directory}: {exc}") from exc

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(FileNotFoundError):
                found.update(int(p) for p in procs.read_text().split())
        return sorted(found)

    def is_empty(self) -> bool:
        return not self.pids()

    def apply_limits(self, memory: int | None, tasks: int | None) -> None:
        raise NotImplementedError

    def oom_kills(self) -> int:
        raise NotImplementedError

    def pids_limit_hits(self) -> int:
        raise NotImplementedError

    def _kill_everything(self) -> None:
        raise NotImplementedError

    def kill_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in the cgroup and wait until it is empty."""
        deadline = time.monotonic() + timeout
        while not self.is_empty():
            self._kill_everything()
            if time.monotonic() > deadline:
                raise SandboxError(f"processes {self.pids()} survived SIGKILL in {self.dirs}")
            time.sleep(0.01)  # processes take a moment to exit after SIGKILL

    def remove(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        # Children first (v2: the leaf a worker made of itself never sits under a run cgroup).
        for directory in self.dirs.values():
            while directory.is_dir():
                try:
                    directory.rmdir()
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise SandboxError(
                            f"could not remove the cgroup {directory}: {exc}"
                        ) from exc
                    time.sleep(0.01)  # the last exiting tasks are still being released


def write_control(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise SandboxError(f"could not write {value!r} to {path}: {exc}") from exc


def _kill_pids(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _keyed(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file ("oom_kill 3") as a dict; {} when it does not exist."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    pairs = (line.split() for line in text.splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}


class V2Cgroup(RunCgroup):
    def __init__(self, path: Path, limits: bool) -> None:
        super().__init__(limits, {"": path})
        self.path = path

    def apply_limits(self, memory: int | None, tasks: int | None) -> None:
        if not self.limits:
            return
        if memory is not None:
            write_control(self.path / "memory.max", str(memory))
            if (self.path / "memory.swap.max").exists():
                write_control(self.path / "memory.swap.max", "0")
            # One process over the limit takes the whole run down with it, at once.
            write_control(self.path / "memory.oom.group", "1")
        if tasks is not None:
            write_control(self.path / "pids.max", str(tasks))

    def oom_kills(self) -> int:
        return _keyed(self.path / "memory.events").get("oom_kill", 0)

    def pids_limit_hits(self) -> int:
        return _keyed(self.path / "pids.events").get("max", 0)

    def is_empty(self) -> bool:
        events = _keyed(self.path / "cgroup.events")
        return events.get("populated", 0) == 0 if events else not self.pids()

    def _kill_everything(self) -> None:
        kill = self.path / "cgroup.kill"
        if kill.exists():  # Linux 5.14+: one write kills the whole subtree, forks included
            with contextlib.suppress(FileNotFoundError):
                write_control(kill, "1")
            return
        freeze = self.path / "cgroup.freeze"
        with contextlib.suppress(OSError):
            freeze.write_text("1")
        _kill_pids(self.pids())
        with contextlib.suppress(OSError):
            freeze.write_text("0")


class V1Cgroup(RunCgroup):
    def apply_limits(self, memory: int | None, tasks: int | None) -> None:
        if not self.limits:
            return
        if memory is not None and "memory" in self.dirs:
            directory = self.dirs["memory"]
            write_control(directory / "memory.limit_in_bytes", str(memory))
            if (directory / "memory.memsw.limit_in_bytes").exists():  # memory plus swap
                write_control(directory / "memory.memsw.limit_in_bytes", str(memory))
        if tasks is not None and "pids" in self.dirs:
            write_control(self.dirs["pids"] / "pids.max", str(tasks))

    def oom_kills(self) -> int:
        if "memory" not in self.dirs:
            return 0
        return _keyed(self.dirs["memory"] / "memory.oom_control").get("oom_kill", 0)

    def pids_limit_hits(self) -> int:
        if "pids" not in self.dirs:
            return 0
        return _keyed(self.dirs["pids"] / "pids.events").get("max", 0)

    def _kill_everything(self) -> None:
        freezer = self.dirs.get("freezer")
        if freezer is None:
            _kill_pids(self.pids())  # new forks are caught by the caller's next round
            return
        # Frozen, nothing can fork between reading the list and the kills.
        state = freezer / "freezer.state"
        write_control(state, "FROZEN")
        deadline = time.monotonic() + 2
        while state.read_text().strip() == "FREEZING" and time.monotonic() < deadline:
            time.sleep(0.005)
        _kill_pids(self.pids())
        write_control(state, "THAWED")


def join_command(cgroup: RunCgroup | None, command: Sequence[str]) -> list[str]:
    """`command`, made to join `cgroup` before it executes anything."""
    if cgroup is None:
        return list(command)
    files = [str(f) for f in cgroup.procs_files]
    return ["/bin/sh", "-c", _JOIN_SCRIPT, "sh", *files, "--", *command]
