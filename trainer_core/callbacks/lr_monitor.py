"""`LearningRateMonitor`: log each scheduler's learning rate(s) to the trainer's logger."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from trainer_core.callbacks.base import Callback
from trainer_core.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class LearningRateMonitor(Callback):
    """Keys are `lr-{OptimizerClass}` (`-1`, `-2`, ... for repeats) or the scheduler dict's
    'name', with `/pg{i}` for several parameter groups. `logging_interval` is 'step',
    'epoch', or None (each scheduler at its own interval)."""

    def __init__(self, logging_interval: str | None = None) -> None:
        if logging_interval not in (None, "step", "epoch"):
            raise MisconfigurationException(
                f"LearningRateMonitor(logging_interval={logging_interval!r}): use 'step', 'epoch' or None."
            )
        self.logging_interval = logging_interval
        self.lrs: dict[str, list[float]] = {}
        self._names: list[str] = []

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.logger is None:
            raise MisconfigurationException(
                "Cannot use LearningRateMonitor callback with Trainer that has no logger: "
                "LearningRateMonitor needs a logger; remove logger=False or drop the callback."
            )
        if not trainer.lr_schedulers:
            warnings.warn(
                "You are using LearningRateMonitor callback with models that have no learning rate "
                "schedulers; nothing to log. Return schedulers from configure_optimizers.",
                RuntimeWarning,
                stacklevel=2,
            )
        self._names = self._scheduler_names(trainer)
        self.lrs = {name: [] for name in self._names}

    def _scheduler_names(self, trainer: Trainer) -> list[str]:
        names: list[str] = []
        seen: dict[str, int] = {}
        for config in trainer.lr_schedulers:
            optimizer = config.scheduler.optimizer
            if config.name:
                base = config.name
            else:
                base = f"lr-{type(optimizer).__name__}"
                count = seen.get(base, 0)
                seen[base] = count + 1
                if count:
                    base = f"{base}-{count}"
            groups = optimizer.param_groups
            names.extend(
                [f"{base}/pg{i + 1}" for i in range(len(groups))] if len(groups) > 1 else [base]
            )
        return names

    def _collect(self, trainer: Trainer, interval: str) -> dict[str, float]:
        out: dict[str, float] = {}
        names = iter(self._names)
        for config in trainer.lr_schedulers:
            groups = config.scheduler.optimizer.param_groups
            keys = [next(names) for _ in groups]
            if interval == "any" or config.interval == interval:
                for key, group in zip(keys, groups, strict=True):
                    out[key] = float(group["lr"])
                    self.lrs.setdefault(key, []).append(out[key])
        return out

    def on_train_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if self.logging_interval == "epoch" or not _should_log_step(trainer):
            return
        if trainer.logger is not None and trainer.is_global_zero:
            # logging_interval='step': every scheduler each logged step; None: step schedulers
            values = self._collect(trainer, "step" if self.logging_interval is None else "any")
            if values:
                trainer.logger.log_metrics(values, step=trainer.global_step)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.loop_state.resume_batches:
            return  # a resumed epoch: its start was logged before the run was stopped
        if self.logging_interval == "step":
            return
        if trainer.logger is not None and trainer.is_global_zero:
            values = self._collect(trainer, "epoch" if self.logging_interval is None else "any")
            if values:
                trainer.logger.log_metrics(values, step=trainer.global_step)


def _should_log_step(trainer: Trainer) -> bool:
    """Lightning 1.0 logs step learning rates every `log_every_n_steps`, never in fast_dev_run."""
    due = (trainer.global_step + 1) % trainer.log_every_n_steps == 0 or trainer.should_stop
    return due and not trainer.fast_dev_run
