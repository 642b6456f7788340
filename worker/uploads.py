"""Uploads that survive a server outage and a worker restart: each waits in the spool
directory (the file hard-linked there, with a small job description) until the server has it.

One thread uploads in submission order (a checkpoint notice must never overtake its upload),
retrying with backoff while the server is unreachable. A restarted worker takes over the jobs
its previous process left and finishes them before it reports anything, so the attempt they
belong to is still current when they arrive. The server refuses (409) uploads of an attempt
that has ended or was superseded; those jobs are dropped.
"""

import logging
import os
import queue
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel

from worker.errors import AttemptEnded, RunyardWorkerError, ServerUnreachable
from worker.server_api import WorkerApi

log = logging.getLogger(__name__)


class UploadJob(BaseModel):
    run_id: str
    fence: int
    kind: str  # "checkpoints" | "exports" | "tensorboard"
    filename: str
    fields: dict[str, Any]
    required: bool = True
    """False: a failure is logged but does not fail the run (TensorBoard files)."""


@dataclass
class _Queued:
    directory: Path
    job: UploadJob
    on_done: Callable[[dict[str, Any]], None] | None = None

    @property
    def file(self) -> Path:
        return self.directory / self.job.filename


@dataclass
class _FenceState:
    outstanding: int = 0
    failures: list[str] = field(default_factory=list)


class Uploader:
    """The worker's upload queue, persisted under `spool_dir`."""

    def __init__(self, api: WorkerApi, spool_dir: Path, *, max_backoff: float = 10.0) -> None:
        self._api = api
        self._dir = spool_dir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._max_backoff = max_backoff
        self._lock = threading.Condition()
        self._fences: dict[int, _FenceState] = defaultdict(_FenceState)
        self._counter = 0
        self._thread = threading.Thread(target=self._drain, name="uploader", daemon=True)

    def start(self) -> int:
        """Takes over the jobs a previous worker process left, then starts uploading."""
        leftovers = sorted(p for p in self._dir.iterdir() if (p / "job.json").is_file())
        for directory in leftovers:
            job = UploadJob.model_validate_json((directory / "job.json").read_text())
            self._enqueue(_Queued(directory, job))
        self._counter = len(leftovers) + 1
        for stale in self._dir.glob("*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
        self._thread.start()
        return len(leftovers)

    def submit(
        self,
        job: UploadJob,
        source: BinaryIO,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Copies the open file `source` into the spool first. An open file, not a path: the
        run owns its directory and could swap a path for a link to a file of the worker's
        between a check and a copy (see worker.sandbox.files.open_inside)."""
        with self._lock:
            self._counter += 1
            name = f"{time.time_ns():020d}-{self._counter:06d}"
        partial = self._dir / f"{name}.partial"
        partial.mkdir()
        with source, (partial / job.filename).open("wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        (partial / "job.json").write_text(job.model_dump_json())
        final = self._dir / name
        os.replace(partial, final)
        self._enqueue(_Queued(final, job, on_done))

    def _enqueue(self, item: _Queued) -> None:
        with self._lock:
            self._fences[item.job.fence].outstanding += 1
        self._queue.put(item)

    def wait(self, fence: int | None, timeout: float) -> bool:
        """Until the jobs of `fence` (of every fence: None) are done; True when all were
        uploaded (or refused as stale), False on failures or when `timeout` passes."""
        deadline = time.monotonic() + timeout

        def done() -> bool:
            states = [self._fences[fence]] if fence is not None else self._fences.values()
            return all(s.outstanding == 0 for s in states)

        with self._lock:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            states = [self._fences[fence]] if fence is not None else list(self._fences.values())
            return not any(s.failures for s in states)

    def failures(self, fence: int) -> list[str]:
        with self._lock:
            return list(self._fences[fence].failures)

    def forget(self, fence: int) -> None:
        with self._lock:
            self._fences.pop(fence, None)

    def close(self) -> None:
        self._queue.put(None)

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            failure = None
            try:
                record = self._upload(item)
                if record is not None and item.on_done is not None:
                    item.on_done(record)
            except (RunyardWorkerError, OSError) as exc:
                failure = f"{item.job.filename}: {exc}"
                log.error("upload of %s failed: %s", item.file, exc)
            shutil.rmtree(item.directory, ignore_errors=True)
            with self._lock:
                state = self._fences[item.job.fence]
                state.outstanding -= 1
                if failure and item.job.required:
                    state.failures.append(failure)
                self._lock.notify_all()

    def _upload(self, item: _Queued) -> dict[str, Any] | None:
        backoff = 0.5
        fields = item.job.fields | {"fence": str(item.job.fence)}
        while True:
            try:
                return self._api.upload(item.job.run_id, item.job.kind, item.file, fields)
            except ServerUnreachable as exc:
                log.warning("upload of %s waits for the server: %s", item.file, exc)
                time.sleep(backoff)  # backoff between retries, not synchronisation
                backoff = min(backoff * 2, self._max_backoff)
            except AttemptEnded as exc:
                log.warning("upload of %s dropped: %s", item.file, exc)
                return None
