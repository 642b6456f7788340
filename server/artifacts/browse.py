"""A run's folder in the artifact store, as a browsable tree: every file and directory under
`<artifact dir>/runs/<run id>/` with sizes and modified times, and the safe lookup of one
path inside it (a path that would leave the folder is refused, symlinks included)."""

import mimetypes
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from server.artifacts.schemas import ArtifactEntry
from server.errors import InvalidInput, NotFound

PREVIEW_BYTES = 256 * 1024
"""Larger files are offered for download only: a preview is for a glance, not a transfer."""

TEXT_SUFFIXES = {
    ".txt",
    ".log",
    ".json",
    ".yaml",
    ".yml",
    ".csv",
    ".tsv",
    ".md",
    ".toml",
    ".ini",
    ".cfg",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}


def run_folder(root: Path, run_id: str) -> Path:
    return root / "runs" / run_id


def _hidden(relative: PurePosixPath) -> bool:
    # In-flight uploads (`.upload-*`, `.incoming-*`) are not artifacts yet.
    return any(part.startswith(".") for part in relative.parts)


def list_tree(folder: Path) -> list[ArtifactEntry]:
    """Directories and files, depth first in path order; empty when the run stored nothing."""
    if not folder.is_dir():
        return []
    entries: list[ArtifactEntry] = []
    for path in sorted(folder.rglob("*")):
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        if _hidden(relative) or path.is_symlink():
            continue
        stat = path.stat()
        is_dir = path.is_dir()
        entries.append(
            ArtifactEntry(
                path=str(relative),
                name=relative.name,
                kind="dir" if is_dir else "file",
                size=0 if is_dir else stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                preview=None if is_dir else preview_kind(relative.name, stat.st_size),
            )
        )
    return entries


def preview_kind(name: str, size: int) -> Literal["text", "image"] | None:
    """ "text", "image", or None when the dashboard should only offer a download."""
    suffix = PurePosixPath(name).suffix.lower()
    if size > PREVIEW_BYTES:
        return None
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def resolve(folder: Path, raw: str) -> Path:
    """The file at `raw` (a relative, '/'-separated path) inside `folder`. Absolute paths,
    `..`, backslashes and NUL are refused (422); a path outside the folder once links are
    followed, or one that is not a file, is not found (404)."""
    if not raw or "\\" in raw or "\x00" in raw or raw.startswith("/"):
        raise InvalidInput(f"invalid artifact path {raw!r}: give a path inside the run's folder")
    relative = PurePosixPath(raw)
    if any(part in ("..", ".") for part in relative.parts) or _hidden(relative):
        raise InvalidInput(f"invalid artifact path {raw!r}: '..' and hidden names are not allowed")
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()) or not target.is_file():
        raise NotFound(f"this run has no artifact {raw!r}; list them with GET .../artifacts")
    return target


def media_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml", ".log", ".toml", ".ini", ".cfg", ".md", ".tsv"}:
        return "text/plain; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed == "image/svg+xml":
        # An SVG can carry script; served as a download it never runs in our origin.
        return "application/octet-stream"
    if guessed and guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed or "application/octet-stream"
