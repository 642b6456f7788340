"""Files that hold secrets (tokens, the Redis password): readable by their owner only."""

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """`path` created if missing, with mode 700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file created with mode 600 from the start (never briefly readable by
    others), replacing it atomically so a reader sees the old or the new content."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    temporary.replace(path)
