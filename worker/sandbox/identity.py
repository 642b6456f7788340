"""Per-sandbox OS identities: one uid (and the same gid) from a configured range, unique among
every worker on the machine.

A uid is held through an flock'd file in a root-only directory shared by all workers, so a
worker that dies (even by SIGKILL) releases its uids with its file descriptors. A uid is
never handed out while any process still runs under it (a sandbox of a dead worker may take
a moment to go), nor when it belongs to an account of the machine, nor when it is the
worker's own.
"""

import contextlib
import fcntl
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from worker.sandbox.errors import SandboxError


@dataclass
class SandboxIdentity:
    """A uid held for one sandbox until `release()` (or until the worker process dies)."""

    uid: int
    _lock_fd: int | None = field(default=None, repr=False)

    @property
    def gid(self) -> int:
        return self.uid

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None


def prepare_lock_dir(path: Path) -> Path:
    """The lock directory, created if needed; refused unless only this user can enter it
    (anyone who could write there could take or fake uids)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        raise SandboxError(f"cannot create the sandbox uid lock directory {path}: {exc}") from exc
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SandboxError(
            f"the sandbox uid lock directory {path} must belong to uid {os.geteuid()} with "
            f"mode 700 (it has uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}); "
            f"fix it with: chown {os.geteuid()} {path} && chmod 700 {path}"
        )
    return path


def uids_in_use(proc: Path = Path("/proc")) -> set[int]:
    """Every uid (real, effective, saved, filesystem) some process runs under right now."""
    found: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("Uid:"):
                found.update(int(u) for u in line.split()[1:])
                break
    return found


def _is_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def allocate_uid(uids: range, lock_dir: Path) -> SandboxIdentity:
    """Hold the first free uid of `uids`; SandboxError when none is free."""
    prepare_lock_dir(lock_dir)
    busy = uids_in_use() | {os.getuid(), os.geteuid(), 0}
    for uid in uids:
        if uid in busy or _is_account(uid):
            continue
        fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        # Checked again under the lock: a sandbox of a worker that just died may still run.
        if uid in uids_in_use():
            os.close(fd)
            continue
        return SandboxIdentity(uid, fd)
    raise SandboxError(
        f"every sandbox uid in {uids.start}-{uids.stop - 1} is taken; widen "
        "RUNYARD_WORKER_SANDBOX_UIDS or run fewer runs per machine"
    )


def try_hold(uid: int, lock_dir: Path) -> SandboxIdentity | None:
    """Hold `uid` if nobody does (to clean up after a dead worker); None when it is held."""
    fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    return SandboxIdentity(uid, fd)
