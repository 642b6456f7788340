"""The end of a training epoch: training_epoch_end, the epoch's logged values into the
trainer's metric views and the logger, on_epoch_end / on_train_epoch_end, epoch schedulers."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.hooks import set_current_hook
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.optimizers import step_epoch_schedulers
from trainer_core.trainer.step_outputs import EpochOutputs

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


def end_training_epoch(trainer: Trainer, store: ResultStore, outputs: EpochOutputs) -> None:
    module = trainer.lightning_module
    hooks = trainer._hooks
    assert hooks is not None
    trainer.loop_state.mid_epoch = False
    if outputs.gather:
        set_current_hook(module, "training_epoch_end")
        epoch_end: Any = module.training_epoch_end
        returned = epoch_end(outputs.training_epoch_end_input(module.automatic_optimization))
        if isinstance(returned, dict) and ("log" in returned or "progress_bar" in returned):
            _legacy_epoch_end_dict(returned, module)
            returned = None
        set_current_hook(module, None)
        if returned is not None:
            raise MisconfigurationException(
                "training_epoch_end must return None; log values with self.log(...) instead of returning them."
            )
    publish_train_results(trainer, store)
    # epoch-end hooks may still self.log (common in 2.x-style code); publish what they add
    hooks.call("on_epoch_end")
    hooks.call("on_train_epoch_end", outputs.by_optimizer)
    publish_train_results(trainer, store)
    module._results = None
    step_epoch_schedulers(trainer.lr_schedulers, trainer.current_epoch, trainer.callback_metrics)
    trainer.loop_state.epoch_schedulers_pending = False
    if trainer.logger is not None and trainer.is_global_zero:
        trainer.logger.save()


def publish_train_results(trainer: Trainer, store: ResultStore) -> None:
    """Move this epoch's step and epoch values into the trainer's persistent views."""
    trainer._callback_metrics.update(store.callback_step_metrics())
    trainer._progress_bar_metrics.update(store.step_metrics(only_fresh=False, for_prog_bar=True))
    to_log: dict[str, torch.Tensor] = {}
    for key, value in store.epoch_values():
        trainer._callback_metrics[key.epoch_key] = value
        trainer._callback_metrics[key.name] = value
        if key.prog_bar:
            trainer._progress_bar_metrics[key.epoch_key] = value
        if key.logger:
            to_log[key.epoch_key] = value
    trainer._train_results = None  # step values now live in the persistent views
    trainer._log_to_logger(to_log, max(trainer.global_step - 1, 0))


def _legacy_epoch_end_dict(returned: dict[str, Any], module: Any) -> None:
    """Lightning 1.0 still took 0.9's `{'log': {...}, 'progress_bar': {...}}` from
    training_epoch_end: 'log' values go to the logger ('step' among them sets the row's
    step), 'progress_bar' values to the bar, other scalars to the callback metrics."""
    warnings.warn(
        "Returning a dict from training_epoch_end is deprecated; use self.log().",
        DeprecationWarning,
        stacklevel=4,
    )
    for name, value in (returned.get("log") or {}).items():
        module.log(name, value, on_epoch=True)
    for name, value in (returned.get("progress_bar") or {}).items():
        module.log(name, value, prog_bar=True, logger=False, on_epoch=True)
    for name, value in returned.items():
        if name not in ("log", "progress_bar") and isinstance(value, torch.Tensor | float | int):
            module.log(name, value, logger=False, on_epoch=True)
