"""The logger and callback the worker injects into a run's Trainer.

They run in the child, next to user code, and only write notices (JSON lines) to the pipe the
parent worker gave it; the parent holds the credentials and turns notices into events and
uploads. Checkpoints are hard-linked into an outbox first, so ModelCheckpoint pruning its
top-k cannot delete a file before the parent has uploaded it.
"""

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from runyard.schemas import MetricPoint
from trainer_core import Callback, LightningModule, Trainer
from trainer_core.loggers import LightningLoggerBase
from worker.notices import CheckpointNotice, MetricsNotice


class NoticeWriter:
    """Thread-safe JSON-lines writer on the notice file descriptor (a no-op without one, so a
    plan can also be run by hand for debugging)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> "NoticeWriter":
        fd = os.environ.get("RUNYARD_NOTICE_FD")
        return cls(os.fdopen(int(fd), "w", buffering=1) if fd else None)

    def write(self, notice: BaseModel) -> None:
        if self._stream is None:
            return
        with self._lock:
            self._stream.write(notice.model_dump_json() + "\n")
            self._stream.flush()


class RunyardLogger(LightningLoggerBase):
    def __init__(self, notices: NoticeWriter, run_id: str, attempt: int) -> None:
        super().__init__()
        self._notices = notices
        self._run_id = run_id
        self._attempt = attempt
        self.params: dict[str, Any] = {}

    @property
    def experiment(self) -> Any:
        return None

    @property
    def name(self) -> str:
        return "runyard"

    @property
    def version(self) -> str:
        return f"{self._run_id}-{self._attempt}"

    def log_hyperparams(self, params: Any) -> None:
        self.params = dict(params) if isinstance(params, dict) else vars(params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        epoch = metrics.get("epoch")
        now = time.time()
        points = [
            MetricPoint(
                key=key,
                step=max(int(step or 0), 0),
                epoch=int(epoch) if epoch is not None else None,
                value=float(value),
                wall_time=now,
            )
            for key, value in metrics.items()
            if key != "epoch"
        ]
        if points:
            self._notices.write(MetricsNotice(points=points))


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue  # a non-scalar metric cannot be ranked or shown as a number
    return out


class RunyardCallback(Callback):
    """Reports saved checkpoints for upload and prints one progress line per epoch."""

    def __init__(self, notices: NoticeWriter, workdir: Path, outbox: Path) -> None:
        self._notices = notices
        self._workdir = workdir
        self._outbox = outbox
        self._count = 0

    def on_checkpoint_saved(
        self, trainer: Trainer, pl_module: LightningModule, filepath: str
    ) -> None:
        self._outbox.mkdir(parents=True, exist_ok=True)
        self._count += 1
        source = Path(filepath)
        target = self._outbox / f"{self._count:05d}-{source.name}"
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)  # another filesystem: a copy does the same job
        self._notices.write(
            CheckpointNotice(
                path=str(target.relative_to(self._workdir)),
                epoch=trainer.current_epoch,
                step=trainer.global_step,
                metrics=_floats(dict(trainer.callback_metrics)),
                is_last=source.stem == "last",
            )
        )

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        shown = ", ".join(
            f"{k}={v:.4g}" for k, v in sorted(_floats(dict(trainer.callback_metrics)).items())
        )
        total = trainer.max_epochs if trainer.max_epochs else "?"
        print(
            f"[runyard] epoch {trainer.current_epoch + 1}/{total} step {trainer.global_step}"
            + (f": {shown}" if shown else ""),
            file=sys.stdout,
            flush=True,
        )
