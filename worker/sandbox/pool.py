"""Spare sandboxes, so a run starts with a fork instead of a Python start-up and a torch import.

Every sandbox is launched from one long-lived thread: bubblewrap's --die-with-parent (a
parent-death signal) fires when the *thread* that forked it exits, so that thread lives as
long as the pool, and a worker that dies (even by SIGKILL) takes every sandbox with it.
"""

import logging
import shutil
import threading
from concurrent.futures import Future
from queue import SimpleQueue

from worker.sandbox.config import SandboxConfig
from worker.sandbox.errors import SandboxError
from worker.sandbox.identity import prepare_lock_dir, try_hold
from worker.sandbox.process import SandboxProcess
from worker.sandbox.spawn import spawn_sandbox
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


class SandboxPool:
    """`start()` once; `acquire()` per run; `close()` at the end (ends every sandbox)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._jobs: SimpleQueue[tuple[bool, Future[SandboxProcess]] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._spares: list[SandboxProcess] = []
        self._spares_coming = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    @classmethod
    def for_worker(cls, settings: WorkerSettings) -> "SandboxPool":
        return cls(SandboxConfig.from_settings(settings))

    def start(self) -> None:
        prepare_lock_dir(self.config.lock_dir)
        self._remove_leftovers()
        self._thread = threading.Thread(target=self._spawner, name="sandbox-spawner", daemon=True)
        self._thread.start()
        self._replenish()

    def acquire(self, timeout: float = 60.0) -> SandboxProcess:
        """A sandbox for one run: a spare when one is there (ready or still preloading),
        else a new one (a cold start). A replacement spare is started in the background."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            while self._spares:
                spare = self._spares.pop(0)
                if spare.alive:
                    break
                log.warning("a spare sandbox (uid %s) died before use", spare.uid)
                spare.release()
            else:
                spare = None
        self._replenish()
        if spare is not None:
            return spare
        return self._submit(background=False).result(timeout)

    @property
    def ready_spares(self) -> int:
        """Spares whose supervisor has preloaded (a run on one starts with a fork)."""
        with self._lock:
            return sum(1 for spare in self._spares if spare.ready)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.release()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _replenish(self) -> None:
        with self._lock:
            missing = self.config.spares - len(self._spares) - self._spares_coming
            if self._closed or missing <= 0:
                return
            self._spares_coming += missing
        for _ in range(missing):
            self._submit(background=True).add_done_callback(self._spare_arrived)

    def _spare_arrived(self, future: "Future[SandboxProcess]") -> None:
        with self._lock:
            self._spares_coming -= 1
            error = future.exception()
            if error is None:
                if not self._closed:
                    self._spares.append(future.result())
                    return
            else:
                log.warning("could not start a spare sandbox: %s", error)
                return
        future.result().release()  # the pool closed meanwhile

    def _submit(self, *, background: bool) -> "Future[SandboxProcess]":
        future: Future[SandboxProcess] = Future()
        self._jobs.put((background, future))
        return future

    def _spawner(self) -> None:
        while (job := self._jobs.get()) is not None:
            background, future = job
            try:
                future.set_result(spawn_sandbox(self.config, background=background))
            except Exception as exc:
                future.set_exception(exc)
        # Leaving now would fire every remaining sandbox's parent-death signal: that is what
        # close() means.

    def _remove_leftovers(self) -> None:
        """Directories of sandboxes whose worker died (their uid's lock is free)."""
        if not self.config.root.is_dir():
            return
        for entry in self.config.root.iterdir():
            if not (entry.name.startswith("u") and entry.name[1:].isdigit()):
                continue
            held = try_hold(int(entry.name[1:]), self.config.lock_dir)
            if held is None:
                continue  # a live sandbox of another worker sharing this directory
            try:
                shutil.rmtree(entry, ignore_errors=True)
            finally:
                held.release()
