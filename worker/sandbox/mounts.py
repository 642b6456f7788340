"""What a sandbox sees of the machine: an allow-list of read-only binds (the system, the Python
environment, the packages runs import, extra code paths, the run's code), its one writable
directory, private /tmp and /dev/shm, a fresh /proc, a minimal /dev plus the NVIDIA device
nodes, /sys read-only, and the host network; and who it runs as. `bwrap_argv` turns that into
bubblewrap's arguments and is pure; the functions below it look at this machine.
"""

import importlib.util
import site
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from worker.sandbox.errors import SandboxError

# Packages a run child imports, bound read-only wherever they are installed (for an editable
# install: their directories inside the repository, never the repository itself, which also
# holds the local stack's data directory).
RUN_PACKAGES = ("worker", "runyard", "trainer_core", "examples")
SYSTEM_DIRS = ("/usr", "/etc")
# Merged-/usr machines have these as symlinks into /usr; others as real directories.
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class MountPlan:
    """The mount view of one sandbox, in host paths (each appears at the same path inside)."""

    system_dirs: tuple[Path, ...]
    system_links: tuple[tuple[str, Path], ...]
    """(target, link): e.g. ("usr/bin", /bin)."""
    read_only: tuple[Path, ...]
    writable: tuple[Path, ...]
    chdir: Path
    files: tuple[tuple[Path, Path], ...] = ()
    """(host file, path inside): read-only files laid over the view (the sandbox's passwd)."""
    devices: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = field(default_factory=tuple)
    """Directories no bind may contain (the sandboxes' root, the worker's data)."""


def _within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _check_exposure(plan: MountPlan) -> None:
    for path in (*plan.system_dirs, *plan.read_only, *plan.writable):
        if path == Path("/"):
            raise SandboxError("the sandbox may not bind the whole filesystem ('/')")
        for secret in plan.protected:
            if _within(secret, path):
                raise SandboxError(
                    f"binding {path} would show the sandbox {secret}, which holds other runs' "
                    "or the worker's files; bind the code directories inside it instead"
                )


def _deduplicated(read_only: Sequence[Path], writable: Sequence[Path]) -> list[Path]:
    """Read-only paths without those already inside another read-only bind (unless a writable
    bind lies between, which the deeper read-only bind must cover again)."""
    kept = []
    for path in dict.fromkeys(read_only):
        covering = [p for p in read_only if p != path and _within(path, p)]
        if covering and not any(_within(path, w) for w in writable):
            continue
        kept.append(path)
    return kept


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def bwrap_argv(
    plan: MountPlan,
    command: Sequence[str],
    *,
    uid: int,
    gid: int,
    bwrap: str = "bwrap",
    setpriv: str = "setpriv",
) -> list[str]:
    """bubblewrap's argument list for `plan`: run `command` as uid/gid (no capabilities, no
    supplementary groups, no new privileges) and as the sandbox's PID 1.

    bubblewrap runs as root (it mounts what root can read, so bind sources need not be
    reachable by the sandbox's uid) and creates no user namespace: the run's uid is a plain
    unprivileged uid of the machine, which owns nothing but the run's work directory."""
    _check_exposure(plan)
    head = [
        bwrap,
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        # The network stays: multi-node ddp and the run's own API calls need it.
        "--die-with-parent",
        "--new-session",  # no TIOCSTI into a terminal the worker may have
        "--as-pid-1",  # the supervisor is init: the run cannot signal it or outlive it
    ]
    # (depth, args): a path is mounted after its parents (a stable sort keeps the order of
    # same-depth entries).
    ops: list[tuple[int, list[str]]] = []

    def add(dest: Path, *args: str) -> None:
        ops.append((len(dest.parts), list(args)))

    for directory in plan.system_dirs:
        add(directory, "--ro-bind", str(directory), str(directory))
    for target, link in plan.system_links:
        add(link, "--symlink", target, str(link))
    add(Path("/proc"), "--proc", "/proc")
    add(Path("/dev"), "--dev", "/dev")
    add(Path("/dev/shm"), "--perms", "1777", "--tmpfs", "/dev/shm")
    add(Path("/tmp"), "--perms", "1777", "--tmpfs", "/tmp")
    add(Path("/sys"), "--ro-bind", "/sys", "/sys")
    for device in plan.devices:
        add(device, "--dev-bind", str(device), str(device))
    read_only = _deduplicated(plan.read_only, plan.writable)
    binds = [*plan.system_dirs, Path("/sys"), *read_only, *plan.writable]
    for path in read_only:
        add(path, "--ro-bind", str(path), str(path))
    for path in plan.writable:
        add(path, "--bind", str(path), str(path))
    for source, dest in plan.files:
        add(dest, "--ro-bind", str(source), str(dest))
    # Mount points bubblewrap would create on its own get mode 0700 from root: make them
    # traversable, so the run can reach what is bound below them.
    created = {Path("/tmp"), Path("/dev"), Path("/dev/shm"), Path("/proc")}  # mounted above
    for path in [*read_only, *plan.writable, *plan.devices]:
        for parent in _ancestors(path):
            if parent not in created and not any(_within(parent, b) for b in binds):
                created.add(parent)
                add(parent, "--perms", "0755", "--dir", str(parent))
    ops.sort(key=lambda op: op[0])
    identity = [
        setpriv,
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        "--nnp",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]
    tail = ["--remount-ro", "/", "--chdir", str(plan.chdir), "--", *identity, *command]
    return head + [arg for _, args in ops for arg in args] + tail


# --- this machine ------------------------------------------------------------------------


def host_system(root: Path = Path("/")) -> tuple[tuple[Path, ...], tuple[tuple[str, Path], ...]]:
    """The system directories and merged-/usr symlinks as this machine has them."""
    dirs = [root / d.lstrip("/") for d in SYSTEM_DIRS]
    links = []
    for name in SYSTEM_LINKS:
        path = root / name.lstrip("/")
        if path.is_symlink():
            links.append((str(path.readlink()), Path(name)))
        elif path.is_dir():
            dirs.append(path)
    return tuple(Path("/") / d.relative_to(root) for d in dirs if d.is_dir()), tuple(links)


def nvidia_devices(dev: Path = Path("/dev")) -> tuple[Path, ...]:
    """/dev/nvidia0.., nvidiactl, nvidia-uvm(-tools), nvidia-modeset, /dev/nvidia-caps."""
    return tuple(sorted(p for p in dev.glob("nvidia*") if p.exists()))


def python_paths() -> tuple[Path, ...]:
    """The interpreter and the environment runs use (read-only)."""
    paths = {
        Path(sys.base_prefix),
        Path(sys.base_exec_prefix),
        Path(sys.prefix),
        Path(sys.exec_prefix),
        Path(sys.executable).resolve().parent.parent,
        *(Path(p) for p in site.getsitepackages()),
    }
    return tuple(sorted(p.resolve() for p in paths if p.exists()))


def package_paths(names: Sequence[str] = RUN_PACKAGES) -> tuple[Path, ...]:
    """The directories of the packages runs import, wherever they are installed."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        for location in spec.submodule_search_locations or []:
            found.append(Path(location).resolve())
    return tuple(found)
