"""`PreemptionHandler`: a signal asks the running fit to checkpoint at the next step boundary
and stop, so a preempted run loses no work and resumes exactly where it stopped.

    trainer = Trainer(callbacks=[PreemptionHandler()])   # SIGUSR1 by default
    trainer.fit(model)            # `kill -USR1 <pid>`: checkpoint, then fit returns
    trainer.state, trainer.stop_reason, trainer.preemption_checkpoint_path
    # -> "interrupted", "preemption", ".../checkpoints/last.ckpt"

The handler only sets a flag (`Trainer.request_checkpoint_and_stop`); the training loop writes
the checkpoint between two steps, through ModelCheckpoint, so callbacks see it with
`on_checkpoint_saved` as any other. Handlers are installed for the duration of `fit` (in the
main thread only, as Python requires) and the previous ones are put back afterwards.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from trainer_core.callbacks.base import Callback

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class PreemptionHandler(Callback):
    def __init__(self, signals: Sequence[int] = (signal.SIGUSR1,)) -> None:
        self.signals = tuple(signals)
        self._previous: dict[int, Any] = {}

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str | None = None) -> None:
        if stage != "fit" or threading.current_thread() is not threading.main_thread():
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            trainer.request_checkpoint_and_stop("preemption")

        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, handle)

    def teardown(
        self, trainer: Trainer, pl_module: LightningModule, stage: str | None = None
    ) -> None:
        self.restore()

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        self.restore()

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def __getstate__(self) -> dict[str, Any]:
        # spawned ranks install their own handlers; previous handlers do not pickle
        return {"signals": self.signals, "_previous": {}}
