"""Uploads that outlive a brief server outage: a queue drained by one thread, retried with
backoff while the server is unreachable; the file waits in the run's working directory."""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.errors import RunyardWorkerError, ServerUnreachable
from worker.server_api import WorkerApi

log = logging.getLogger(__name__)


@dataclass
class Upload:
    run_id: str
    kind: str  # "checkpoints" | "exports" | "tensorboard"
    path: Path
    fields: dict[str, Any]
    on_done: Callable[[dict[str, Any]], None] = field(default=lambda record: None)
    required: bool = True
    """False: a failure is logged but does not fail the run (TensorBoard files)."""


class Uploader:
    """Uploads in submission order (a checkpoint notice must never overtake its upload)."""

    def __init__(self, api: WorkerApi, *, max_backoff: float = 10.0) -> None:
        self._api = api
        self._queue: queue.Queue[Upload | None] = queue.Queue()
        self._max_backoff = max_backoff
        self.failures: list[str] = []
        self._thread = threading.Thread(target=self._drain, name="uploader", daemon=True)
        self._thread.start()

    def submit(self, upload: Upload) -> None:
        self._queue.put(upload)

    def close(self, timeout: float) -> bool:
        """Finish what is queued (within `timeout`); True when everything was delivered."""
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive() and not self.failures

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            backoff = 0.5
            while True:
                try:
                    record = self._api.upload(item.run_id, item.kind, item.path, item.fields)
                except ServerUnreachable as exc:
                    log.warning("upload of %s waits for the server: %s", item.path, exc)
                    time.sleep(backoff)  # backoff between retries, not synchronisation
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                except (RunyardWorkerError, OSError) as exc:
                    if item.required:
                        self.failures.append(f"{item.path.name}: {exc}")
                    log.error("upload of %s failed: %s", item.path, exc)
                    break
                item.on_done(record)
                break
