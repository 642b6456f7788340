"""The on-disk spool of a run's batches: every batch is written here (one file, fsynced)
before it is sent, and removed once the server has stored it. What a crash or an outage
leaves behind is sent by the next process that opens the run's spool.

Layout: `<root>/<run id>/` holds `batch-<seq>.json` files, `run.json` (server URL, run id,
the end the client asked for, if any) and `lock`, which the process logging the run holds
(flock) for its lifetime: a spool whose lock can be taken belongs to nobody alive.
"""

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from runyard.schemas.tracking import ExternalFinish
from runyard.user_config import data_dir


def spool_root() -> Path:
    """`$RUNYARD_SPOOL_DIR`, else `spool/` in the user's data directory."""
    explicit = os.environ.get("RUNYARD_SPOOL_DIR")
    return Path(explicit) if explicit else data_dir() / "spool"


class SpooledBatch(BaseModel):
    """A batch as it is sent: its seq (from the file's name) and its JSON body
    (an ExternalBatch), kept as text so a spooled batch is never parsed on the client."""

    seq: int
    body: str


class SpoolRecord(BaseModel):
    url: str
    run_id: str
    finish: ExternalFinish | None = None
    """The end the client asked for but could not deliver yet."""


def _write_durably(path: Path, text: str) -> None:
    """Writes `path` whole or not at all: a temporary file, fsynced, renamed, and the folder
    fsynced so the rename survives a power cut."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Spool:
    """One run's spool, held (locked) by this process."""

    def __init__(self, directory: Path, lock: IO[Any]) -> None:
        self.directory = directory
        self._lock = lock

    @classmethod
    def claim(cls, root: Path, run_id: str, url: str) -> "Spool | None":
        """The run's spool, locked for this process; None if a live process holds it."""
        directory = root / run_id
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(directory / "lock", "a+")  # noqa: SIM115 (held for the spool's lifetime)
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return None
        spool = cls(directory, lock)
        if spool.record() is None:
            spool.save_record(SpoolRecord(url=url, run_id=run_id))
        return spool

    def record(self) -> SpoolRecord | None:
        try:
            return SpoolRecord.model_validate_json((self.directory / "run.json").read_text())
        except (OSError, ValueError):
            return None

    def save_record(self, record: SpoolRecord) -> None:
        _write_durably(self.directory / "run.json", record.model_dump_json())

    def add(self, seq: int, body: str) -> None:
        """Keeps the batch `seq` (its JSON body) until `remove(seq)`."""
        _write_durably(self.directory / f"batch-{seq:020d}.json", body)

    def pending(self) -> list[SpooledBatch]:
        """Spooled batches in seq order. Files are renamed into place whole, so a crash
        leaves either a complete batch or a hidden temporary file, never half a batch."""
        batches = []
        for path in sorted(self.directory.glob("batch-*.json")):
            try:
                seq = int(path.stem.removeprefix("batch-"))
                batches.append(SpooledBatch(seq=seq, body=path.read_text()))
            except (OSError, ValueError):
                continue
        return batches

    def max_seq(self) -> int | None:
        seqs = [b.seq for b in self.pending()]
        return max(seqs) if seqs else None

    def remove(self, seq: int) -> None:
        (self.directory / f"batch-{seq:020d}.json").unlink(missing_ok=True)

    def release(self, *, delete: bool) -> None:
        """Unlocks; with `delete`, removes the spool (nothing is left to send)."""
        if delete and not self.pending():
            # A half-written file of a killed process never got its name: nothing to send.
            for leftover in self.directory.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
            for name in ("run.json", "lock"):
                (self.directory / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.directory.rmdir()
        self._lock.close()


def orphans(root: Path, url: str) -> Iterator[Spool]:
    """Spools of runs on `url` that no live process holds (their process crashed), claimed."""
    if not root.is_dir():
        return
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            data = json.loads((directory / "run.json").read_text())
        except (OSError, ValueError):
            continue
        if data.get("url") != url:
            continue
        spool = Spool.claim(root, directory.name, url)
        if spool is not None:
            yield spool
