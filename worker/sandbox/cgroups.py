"""One cgroup per sandbox: memory and process limits, out-of-memory kills, and a teardown
that leaves no process behind.

Run cgroups live beneath the worker's own cgroup, in each hierarchy: cgroup v2 (memory and
pids must be delegated to the worker's cgroup) or v1 (memory, pids and freezer). A sandbox's
first process joins them before it executes anything (see `join_command`), so every process
of the run is counted from the start.
"""

import contextlib
import errno
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from worker.sandbox.errors import SandboxError

V1_CONTROLLERS = ("memory", "pids", "freezer")
WORKER_LEAF = "runyard-worker"
"""Where the worker moves itself in v2 when its cgroup must become an inner node."""

# Joins the cgroup.procs files given before `--`, then becomes the command after it: the
# process is in its cgroups before it executes anything (no race with its first fork).
_JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class Mount:
    point: Path
    root: str
    fstype: str
    options: frozenset[str]


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup mounts of /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or not tail[0].startswith("cgroup"):
            continue
        point = fields[4].replace("\\040", " ")
        mounts.append(Mount(Path(point), fields[3], tail[0], frozenset(tail[2].split(","))))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/self/cgroup as {controller: path}; the v2 entry is under ""."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for name in controllers.split(",") if controllers else [""]:
            paths[name.removeprefix("name=")] = path
    return paths


def _own_dir(mount: Mount, path: str) -> Path:
    relative = path
    if mount.root != "/" and (path == mount.root or path.startswith(mount.root + "/")):
        relative = path[len(mount.root) :]
    return mount.point / relative.lstrip("/")


@dataclass(frozen=True)
class CgroupLayout:
    """Where run cgroups are created and what they can do."""

    version: Literal[1, 2]
    parents: Mapping[str, Path]
    """v2: {"": the worker's cgroup}; v1: {controller: the worker's cgroup in it}."""
    limits: bool
    """Memory and process limits can be set (else: tracking and teardown only)."""
    description: str

    def create(self, name: str) -> "RunCgroup":
        """A fresh cgroup `name`; a leftover of that name (from a worker that died) is emptied
        and replaced."""
        if self.version == 2:
            cgroup: RunCgroup = V2Cgroup(self.parents[""] / name, self.limits)
        else:
            cgroup = V1Cgroup(self.limits, {c: p / name for c, p in self.parents.items()})
        if cgroup.exists():
            cgroup.kill_all()
            cgroup.remove()
        cgroup.make()
        return cgroup


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


def _write(path: Path, value: str) -> None:
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
            _write(self.path / "memory.max", str(memory))
            if (self.path / "memory.swap.max").exists():
                _write(self.path / "memory.swap.max", "0")
            # One process over the limit takes the whole run down with it, at once.
            _write(self.path / "memory.oom.group", "1")
        if tasks is not None:
            _write(self.path / "pids.max", str(tasks))

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
                _write(kill, "1")
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
            _write(directory / "memory.limit_in_bytes", str(memory))
            if (directory / "memory.memsw.limit_in_bytes").exists():  # memory plus swap
                _write(directory / "memory.memsw.limit_in_bytes", str(memory))
        if tasks is not None and "pids" in self.dirs:
            _write(self.dirs["pids"] / "pids.max", str(tasks))

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
        _write(state, "FROZEN")
        deadline = time.monotonic() + 2
        while state.read_text().strip() == "FREEZING" and time.monotonic() < deadline:
            time.sleep(0.005)
        _kill_pids(self.pids())
        _write(state, "THAWED")


def join_command(cgroup: RunCgroup | None, command: Sequence[str]) -> list[str]:
    """`command`, made to join `cgroup` before it executes anything."""
    if cgroup is None:
        return list(command)
    files = [str(f) for f in cgroup.procs_files]
    return ["/bin/sh", "-c", _JOIN_SCRIPT, "sh", *files, "--", *command]


def _controllers(directory: Path, name: str) -> set[str]:
    try:
        return set((directory / name).read_text().split())
    except OSError:
        return set()


def move_into_leaf(own: Path) -> Path:
    """Move every process of the cgroup `own` into its child WORKER_LEAF, so that `own` may
    enable controllers for its children (cgroup v2 allows no processes in inner nodes)."""
    leaf = own / WORKER_LEAF
    leaf.mkdir(exist_ok=True)
    for pid in (own / "cgroup.procs").read_text().split():
        with contextlib.suppress(ProcessLookupError):
            _write(leaf / "cgroup.procs", pid)
    return leaf


def _delegate_v2(own: Path) -> bool:
    """Enable memory and pids for the children of `own`; False when they cannot be."""
    wanted = {"memory", "pids"}
    if wanted <= _controllers(own, "cgroup.subtree_control"):
        return True
    if not wanted <= _controllers(own, "cgroup.controllers"):
        return False
    request = " ".join(f"+{c}" for c in sorted(wanted))
    try:
        (own / "cgroup.subtree_control").write_text(request)
        return True
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            return False
    try:
        move_into_leaf(own)
        (own / "cgroup.subtree_control").write_text(request)
    except (OSError, SandboxError):
        return False
    return True


def discover(
    mountinfo: str | None = None, proc_cgroup: str | None = None, *, delegate: bool = False
) -> tuple[CgroupLayout | None, str]:
    """The best cgroup layout this worker can use, and a sentence saying what it is (or why
    there is none). `delegate`: prepare v2 (enable controllers, move the worker into a leaf)."""
    mountinfo = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
    proc_cgroup = Path("/proc/self/cgroup").read_text() if proc_cgroup is None else proc_cgroup
    mounts = parse_mountinfo(mountinfo)
    paths = parse_proc_cgroup(proc_cgroup)
    notes = []

    v2 = next((m for m in mounts if m.fstype == "cgroup2"), None)
    v2_own = _own_dir(v2, paths[""]) if v2 is not None and "" in paths else None
    v2_writable = v2_own is not None and os.access(v2_own, os.W_OK)
    if v2_own is not None and v2_writable:
        available = _controllers(v2_own, "cgroup.controllers")
        if {"memory", "pids"} <= available and (not delegate or _delegate_v2(v2_own)):
            return (
                CgroupLayout(2, {"": v2_own}, True, f"cgroup v2 under {v2_own}"),
                f"cgroup v2 under {v2_own} (memory and pids limits)",
            )
        notes.append(
            f"cgroup v2 at {v2_own} offers {', '.join(sorted(available)) or 'no controllers'}, "
            "not memory and pids (delegate them to the worker's cgroup)"
        )

    v1_dirs = {}
    for controller in V1_CONTROLLERS:
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
        if mount is None or controller not in paths:
            continue
        own = _own_dir(mount, paths[controller])
        if os.access(own, os.W_OK):
            v1_dirs[controller] = own
    if {"memory", "pids"} <= v1_dirs.keys():
        where = ", ".join(f"{c} {p}" for c, p in v1_dirs.items())
        return (
            CgroupLayout(1, v1_dirs, True, f"cgroup v1 ({where})"),
            f"cgroup v1 ({where}; memory and pids limits)",
        )
    if v1_dirs:
        notes.append(f"cgroup v1 has only {', '.join(v1_dirs)} (memory and pids are needed)")

    if v2_own is not None and v2_writable:
        return (
            CgroupLayout(2, {"": v2_own}, False, f"cgroup v2 under {v2_own}, without limits"),
            "; ".join([*notes, f"using cgroup v2 under {v2_own} for teardown only: no limits"]),
        )
    notes.append("no writable cgroup hierarchy: runs get no memory or process limits")
    return None, "; ".join(notes)
