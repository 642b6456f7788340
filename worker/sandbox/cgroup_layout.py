"""Where run cgroups go: the worker's own cgroup in each hierarchy, found in /proc, and what
the machine allows there (cgroup v2 with memory and pids delegated, else v1 memory, pids and
freezer, else v2 for teardown only, else nothing)."""

import contextlib
import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from worker.sandbox.cgroups import RunCgroup, V1Cgroup, V2Cgroup, write_control
from worker.sandbox.errors import SandboxError

V1_CONTROLLERS = ("memory", "pids", "freezer")
WORKER_LEAF = "runyard-worker"
"""Where the worker moves itself in v2 when its cgroup must become an inner node."""


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
            write_control(leaf / "cgroup.procs", pid)
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
