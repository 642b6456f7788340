"""Reading what a run left in its work directory, as root, without being its deputy.

The run owns its work directory and may leave symlinks there (`ln -s /root/.runyard/admin-token
checkpoint.ckpt`) or FIFOs; the worker opens files there as root for uploads. `open_inside`
opens a regular file strictly below the directory, following no symlink on the way.
"""

import os
import stat
from pathlib import Path
from typing import BinaryIO

from worker.sandbox.errors import SandboxError

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO the run planted must not hang the worker.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def relative_inside(root: Path, path: str | Path) -> Path:
    """`path` (relative to `root`, or absolute below it) as a relative path with no `..`."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(root)
        except ValueError as exc:
            raise SandboxError(f"{path} is not inside {root}") from exc
    if not candidate.parts or ".." in candidate.parts:
        raise SandboxError(f"{path} is not a file inside {root}")
    return candidate


def open_inside(root: Path, path: str | Path) -> BinaryIO:
    """Open the regular file `path` below `root` for reading; SandboxError for a symlink
    anywhere on the way, a path leaving `root`, or anything but a regular file."""
    parts = relative_inside(root, path).parts
    try:
        directory = os.open(root, _DIRECTORY)
    except OSError as exc:
        raise SandboxError(f"cannot open {root}: {exc}") from exc
    try:
        for name in parts[:-1]:
            inner = os.open(name, _DIRECTORY, dir_fd=directory)
            os.close(directory)
            directory = inner
        fd = os.open(parts[-1], _FILE, dir_fd=directory)
    except OSError as exc:  # ELOOP / ENOTDIR for a symlink: refused, not followed
        raise SandboxError(f"refusing {path} in {root}: {exc.strerror}") from exc
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SandboxError(f"refusing {path} in {root}: not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
