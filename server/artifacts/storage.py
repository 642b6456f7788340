"""Artifact files on disk: received by streaming into a temp file while hashing, then moved
into place, so a failed or mismatched upload never leaves a partial file behind."""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from server.errors import InvalidInput, PayloadTooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    relative_path: str
    size: int
    sha256: str


def receive(
    source: BinaryIO, root: Path, relative_path: str, expected_sha256: str | None, max_bytes: int
) -> StoredFile:
    """Copies `source` to root/relative_path. Raises PayloadTooLarge past `max_bytes` and
    InvalidInput when the content's sha256 differs from `expected_sha256`; either way nothing
    is kept."""
    target = root / relative_path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"the file is larger than the {max_bytes}-byte limit; "
                        "raise RUNYARD_MAX_UPLOAD_BYTES or upload a smaller file"
                    )
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256.lower():
            raise InvalidInput(
                f"sha256 mismatch: the header said {expected_sha256}, the content hashes to "
                f"{actual}; the upload was damaged, send it again",
                loc=["header", "X-Content-SHA256"],
            )
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return StoredFile(relative_path=relative_path, size=size, sha256=actual)


def remove(root: Path, relative_path: str) -> None:
    (root / relative_path).unlink(missing_ok=True)
