"""`EarlyStopping`: stop training when a monitored metric stops improving."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.callbacks.base import Callback
from trainer_core.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class EarlyStopping(Callback):
    """Sets `trainer.should_stop` after `patience` checks without an improvement of at least
    `min_delta`. Checks run after each validation (never in the sanity check), or at the end
    of each training epoch when there is no validation loop. `min_epochs` still wins."""

    def __init__(
        self,
        monitor: str = "early_stop_on",
        min_delta: float = 0.0,
        patience: int = 3,
        verbose: bool = False,
        mode: str = "auto",
        strict: bool = True,
    ) -> None:
        if mode not in ("min", "max", "auto"):
            raise MisconfigurationException(
                f"EarlyStopping(mode={mode!r}): use 'min', 'max' or 'auto'."
            )
        if patience < 0:
            raise MisconfigurationException(f"EarlyStopping(patience={patience}): use an int >= 0.")
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.strict = strict
        self.mode = ("max" if monitor == "acc" else "min") if mode == "auto" else mode
        self.wait_count = 0
        self.stopped_epoch = 0
        self.best_score = torch.tensor(math.inf if self.mode == "min" else -math.inf)

    @property
    def state_key(self) -> str:
        return f"EarlyStopping{{'monitor': {self.monitor!r}, 'mode': {self.mode!r}}}"

    def on_save_checkpoint(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        checkpoint: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Lightning 1.0: the callback's state, as `state_dict()` has it."""
        return self.state_dict()

    def state_dict(self) -> dict[str, Any]:
        return {
            "wait_count": self.wait_count,
            "stopped_epoch": self.stopped_epoch,
            "best_score": self.best_score,
            "patience": self.patience,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.wait_count = state_dict["wait_count"]
        self.stopped_epoch = state_dict["stopped_epoch"]
        self.best_score = state_dict["best_score"]
        self.patience = state_dict["patience"]

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.running_sanity_check or trainer.testing:
            return
        self._check(trainer)

    def on_train_epoch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any = None
    ) -> None:
        if not trainer.enable_validation:
            self._check(trainer)

    def _check(self, trainer: Trainer) -> None:
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            message = (
                f"EarlyStopping(monitor={self.monitor!r}) could not find {self.monitor!r} among the logged metrics "
                f"{sorted(metrics)}. Log it with self.log({self.monitor!r}, value) or pass monitor='<a logged key>'."
            )
            if self.strict:
                raise MisconfigurationException(message)
            return
        current = metrics[self.monitor]
        current = (
            current.detach().float().cpu()
            if isinstance(current, torch.Tensor)
            else torch.tensor(float(current))
        )
        if self._improved(current):
            self.best_score = current
            self.wait_count = 0
        else:
            self.wait_count += 1
            if self.wait_count >= self.patience:
                self.stopped_epoch = trainer.current_epoch
                trainer.should_stop = True
                if self.verbose:
                    print(
                        f"Epoch {trainer.current_epoch}: early stopping ({self.monitor} did not improve for {self.wait_count} checks)"
                    )
        # Under DDP the monitored value can differ per rank: all ranks stop when one does, or
        # the ranks that went on would wait in their next collective for ranks that left.
        trainer.should_stop = bool(
            trainer.strategy.reduce(torch.tensor(float(trainer.should_stop)), "max")
        )

    def _improved(self, current: torch.Tensor) -> bool:
        if torch.isnan(current):
            return False
        if self.mode == "min":
            return bool(current < self.best_score - self.min_delta)
        return bool(current > self.best_score + self.min_delta)
