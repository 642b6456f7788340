"""A run logged from this process: `log` buffers points, a background thread cuts the buffer
into numbered batches, writes each to the spool (fsynced) and then sends it, removing it once
the server has stored it. An outage only grows the spool; a crash leaves it for the next
process (see spool.py). Batches are resent with the same seq, which the server stores once.
"""

import atexit
import json
import logging
import math
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from runyard.client import ApiError, Client, ConnectionFailed
from runyard.schemas.tracking import (
    MAX_BATCH_POINTS,
    ExternalFinish,
    ExternalRunPublic,
    ParamValue,
    flat_params,
)
from runyard.tracking.spool import Spool, SpoolRecord

log = logging.getLogger("runyard.tracking")

Ending = Literal["completed", "failed", "canceled"]

HEARTBEAT_SECONDS = 60.0
"""How often a run tells the server it is alive. The server gives up external runs silent for
its timeout (10 minutes by default) as abandoned; a heartbeat brings one back."""


def _transient(exc: BaseException) -> bool:
    """Worth another try: the server is away, overloaded or failing for now."""
    if isinstance(exc, ConnectionFailed):
        return True
    return isinstance(exc, ApiError) and (exc.status >= 500 or exc.status == 429)


@dataclass(frozen=True)
class Delivery:
    """How hard to try before leaving a batch in the spool for later."""

    attempts: int = 3
    max_seconds: float = 10.0

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )


def deliver(client: Client, run_id: str, spool: Spool, delivery: Delivery) -> bool:
    """Sends the spooled batches in seq order; True once the spool is empty, False when the
    server stayed away (what is left is sent later). A batch the server refuses for good
    (4xx) is dropped with a warning: resending it would never succeed."""
    for batch in spool.pending():
        try:
            for attempt in delivery.retrying():
                with attempt:
                    client.send_batch(run_id, batch.body)
        except (ConnectionFailed, ApiError) as exc:
            if _transient(exc):
                return False
            log.warning(
                "run %s: batch %s refused by the server, dropped: %s", run_id, batch.seq, exc
            )
        spool.remove(batch.seq)
    return True


def batch_body(
    seq: int,
    points: list[tuple[str, int, float, int | None, float]],
    params: dict[str, ParamValue],
) -> str:
    """An ExternalBatch's JSON, written directly: a training loop's points are plain tuples
    until here, and a model per point would cost more than the logging itself. Non-finite
    values are spelled as the wire spells them ("NaN", "Infinity", "-Infinity")."""
    return json.dumps(
        {
            "seq": seq,
            "points": [
                {"key": k, "step": s, "value": _json_value(v), "epoch": e, "wall_time": w}
                for k, s, v, e, w in points
            ],
            "params": params,
        },
        allow_nan=False,
    )


def _json_value(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class Run:
    """Created by `runyard.init`; use as a context manager or call `finish()`."""

    def __init__(
        self,
        client: Client,
        info: ExternalRunPublic,
        spool: Spool,
        next_seq: int,
        *,
        flush_interval: float = 2.0,
        heartbeat_interval: float = HEARTBEAT_SECONDS,
        delivery: Delivery | None = None,
    ) -> None:
        self.id = info.id
        self.name = info.name
        self.url = f"{client.url}{info.url}"
        self._client = client
        self._spool = spool
        self._next_seq = next_seq
        self._interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._delivery = delivery or Delivery()
        self._points: list[tuple[str, int, float, int | None, float]] = []
        self._params: dict[str, ParamValue] = {}
        self._step = 0
        self._buffer_lock = threading.Lock()
        self._cut_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._finished = False
        self._failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._loop, name=f"runyard-{self.id[:8]}", daemon=True
        )
        self._thread.start()
        self._previous_hook = sys.excepthook
        sys.excepthook = self._excepthook
        atexit.register(self._at_exit)

    # --- logging --------------------------------------------------------------------------
    def log(
        self, data: Mapping[str, Any], step: int | None = None, *, epoch: int | None = None
    ) -> None:
        """Logs numbers at `step` (without one, the step after the previous call's). A step
        logged again keeps the newer value."""
        if self._finished:
            raise RuntimeError(f"run {self.id} is finished; start another with runyard.init")
        now = time.time()
        try:
            values = {str(k): float(v) for k, v in data.items()}
        except (TypeError, ValueError) as exc:
            raise TypeError(f"run.log takes numbers (a mapping of name to number): {exc}") from exc
        with self._buffer_lock:
            at = self._step if step is None else step
            self._step = at + 1
            self._points.extend((k, at, v, epoch, now) for k, v in values.items())
            full = len(self._points) >= MAX_BATCH_POINTS
        if full:
            self._wake.set()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Hyperparameters (nested mappings are stored flat, keys joined with '.')."""
        with self._buffer_lock:
            self._params.update(flat_params(dict(params)))

    # --- delivery -------------------------------------------------------------------------
    def flush(self) -> bool:
        """Spools what was logged so far and tries to send it: once this returns, nothing
        logged before it is lost by a crash. True when the server has it all."""
        self._cut()
        with self._send_lock:
            return deliver(self._client, self.id, self._spool, self._delivery)

    def _cut(self) -> None:
        """Moves the buffer into numbered batches in the spool (in seq order)."""
        with self._cut_lock:
            with self._buffer_lock:
                points, self._points = self._points, []
                params, self._params = self._params, {}
            while points or params:
                chunk, points = points[:MAX_BATCH_POINTS], points[MAX_BATCH_POINTS:]
                self._spool.add(self._next_seq, batch_body(self._next_seq, chunk, params))
                self._next_seq += 1
                params = {}

    def _loop(self) -> None:
        next_beat = time.monotonic() + self._heartbeat_interval
        while not self._stop.is_set():
            self._wake.wait(min(self._interval, self._heartbeat_interval))
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the thread must outlive any one failure; the spool keeps it
                log.exception("run %s: sending batches failed; retrying later", self.id)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self._heartbeat_interval
                self._beat()

    def _beat(self) -> None:
        """Tells the server this process is alive even when it logs nothing for a while."""
        try:
            self._client.external_run_heartbeat(self.id)
        except (ConnectionFailed, ApiError) as exc:
            if not _transient(exc):
                log.warning("run %s: the server refused its heartbeat: %s", self.id, exc)

    # --- the end --------------------------------------------------------------------------
    def finish(self, state: Ending = "completed", reason: str | None = None) -> bool:
        """Sends everything and ends the run. If the server is away, what is left stays in
        the spool with the end asked for, and the next `runyard.init` delivers both.
        Returns True when the server has everything."""
        if self._finished:
            return True
        self._finished = True
        self._stop.set()
        self._wake.set()
        self._thread.join()
        atexit.unregister(self._at_exit)
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_hook
        ending = ExternalFinish(state=state, reason=reason)
        delivered = False
        try:
            self._cut()
            with self._send_lock:
                final = Delivery(attempts=8, max_seconds=30.0)
                if deliver(self._client, self.id, self._spool, final):
                    for attempt in final.retrying():
                        with attempt:
                            self._client.finish_external_run(self.id, ending)
                    delivered = True
        except (ConnectionFailed, ApiError) as exc:
            if not _transient(exc):
                raise
        finally:
            if not delivered:
                record = self._spool.record() or SpoolRecord(url=self._client.url, run_id=self.id)
                self._spool.save_record(record.model_copy(update={"finish": ending}))
                log.warning(
                    "run %s: the server at %s is unreachable; its last points and its end wait in "
                    "%s for the next runyard.init",
                    self.id,
                    self._client.url,
                    self._spool.directory,
                )
            self._spool.release(delete=delivered)
            self._client.close()
        return delivered

    def _excepthook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        self._failure = value
        self._previous_hook(kind, value, tb)

    def _at_exit(self) -> None:
        if self._failure is not None:
            self.finish("failed", f"{type(self._failure).__name__}: {self._failure}"[:2000])
        else:
            self.finish("completed")

    def __enter__(self) -> "Run":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: object
    ) -> None:
        if value is None:
            self.finish("completed")
        else:
            self.finish("failed", f"{type(value).__name__}: {value}"[:2000])

    def __repr__(self) -> str:
        return f"<runyard.Run {self.id} {self.name!r}>"
