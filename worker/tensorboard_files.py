"""Packing a run's TensorBoard event files for upload. The run's code can write anything into
its directory, so only regular files are taken (never a symlink or device, whose target the
worker could read but the run should not), and only up to a size cap."""

import logging
import os
import stat
import tarfile
from pathlib import Path

from worker.sandbox.errors import SandboxError
from worker.sandbox.files import open_inside

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024 * 1024


def pack_event_files(
    workdir: Path, relative: str, archive: Path, max_bytes: int = MAX_BYTES
) -> Path | None:
    """The regular files below `workdir/relative` as a tar.gz at `archive` (outside the run's
    directory); None when there are none. Each file is opened without following links, so
    swapping one for a link after it was listed gains the run nothing."""
    folder = workdir / relative
    if not folder.is_dir() or folder.is_symlink():
        return None
    chosen: list[tuple[Path, str]] = []
    total = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not Path(root, d).is_symlink())
        for name in sorted(files):
            path = Path(root, name)
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            total += info.st_size
            if total > max_bytes:
                log.warning(
                    "TensorBoard files of %s exceed %d bytes; not uploaded", folder, max_bytes
                )
                return None
            chosen.append((path, str(path.relative_to(folder))))
    if not chosen:
        return None
    with tarfile.open(archive, mode="w:gz") as tar:
        for path, name in chosen:
            try:
                source = open_inside(workdir, path.relative_to(workdir))
            except SandboxError as exc:
                log.warning("TensorBoard file skipped: %s", exc)
                continue
            with source:
                member = tar.gettarinfo(arcname=name, fileobj=source)
                tar.addfile(member, source)
    return archive
