"""Bundles on disk, content-addressed by sha256 under `<artifact_dir>/bundles/`.

An upload is spooled to a temporary file first and moved into place only after the database
commit, so a failed request leaves neither a row nor a file behind.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from server.errors import PayloadTooLarge

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SpooledBundle:
    path: Path
    sha256: str
    size: int


def bundle_path(artifact_dir: Path, sha256: str) -> Path:
    return artifact_dir / "bundles" / sha256[:2] / f"{sha256}.tar.gz"


def spool(source: BinaryIO, artifact_dir: Path, max_bytes: int) -> SpooledBundle:
    tmp_dir = artifact_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".bundle")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"code bundle exceeds {max_bytes} bytes; bundle only your code"
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SpooledBundle(path=path, sha256=digest.hexdigest(), size=size)


def keep(spooled: SpooledBundle, artifact_dir: Path) -> Path:
    """Moves the spooled file to its content address (same content: one file)."""
    final = bundle_path(artifact_dir, spooled.sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(spooled.path, final)
    return final


def discard(spooled: SpooledBundle) -> None:
    spooled.path.unlink(missing_ok=True)
