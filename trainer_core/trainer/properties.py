"""The Trainer's read-only views: ranks and devices (through the strategy), the model, the
built-in callbacks, validation on/off, and the metrics that callbacks and the progress bar read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch

from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.callbacks.progress import ProgressBarBase
from trainer_core.core.module import LightningModule
from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.data_connector import overrides
from trainer_core.trainer.states import TrainerState

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainerProperties:
    """Mixed into `Trainer`; every property reads the trainer's state, none changes it."""

    _state: TrainerState

    @property
    def state(self) -> TrainerState:
        """What the trainer is doing or last did (`TrainerState`, a str enum)."""
        trainer = cast("Trainer", self)
        return trainer._state

    @state.setter
    def state(self, value: TrainerState | str) -> None:
        trainer = cast("Trainer", self)
        trainer._state = TrainerState(value)

    @property
    def total_batch_idx(self) -> int:
        """Batches trained across epochs (optimizer frequencies count them)."""
        trainer = cast("Trainer", self)
        return trainer.loop_state.total_batch_idx

    @total_batch_idx.setter
    def total_batch_idx(self, value: int) -> None:
        trainer = cast("Trainer", self)
        trainer.loop_state.total_batch_idx = value

    # --- identity and devices (all through the strategy) -------------------------------------
    @property
    def global_rank(self) -> int:
        trainer = cast("Trainer", self)
        return trainer.strategy.global_rank

    @property
    def local_rank(self) -> int:
        trainer = cast("Trainer", self)
        return trainer.strategy.local_rank

    @property
    def node_rank(self) -> int:
        trainer = cast("Trainer", self)
        return trainer.strategy.node_rank

    @property
    def world_size(self) -> int:
        trainer = cast("Trainer", self)
        return trainer.strategy.world_size

    @property
    def is_global_zero(self) -> bool:
        trainer = cast("Trainer", self)
        return trainer.strategy.is_global_zero

    @property
    def num_gpus(self) -> int:
        trainer = cast("Trainer", self)
        return trainer.strategy.num_gpus

    @property
    def root_device(self) -> torch.device:
        trainer = cast("Trainer", self)
        return trainer.strategy.root_device

    @property
    def on_gpu(self) -> bool:
        trainer = cast("Trainer", self)
        return trainer.root_device.type == "cuda"

    # Lightning 1.0's backend flags, read by step methods that reduce per-device outputs
    @property
    def use_dp(self) -> bool:
        return getattr(cast("Trainer", self).strategy, "strategy_name", "") == "dp"

    @property
    def use_ddp2(self) -> bool:
        return getattr(cast("Trainer", self).strategy, "strategy_name", "") == "ddp2"

    @property
    def use_ddp(self) -> bool:
        name = getattr(cast("Trainer", self).strategy, "strategy_name", "")
        return name in ("ddp", "ddp_spawn", "ddp_cpu")

    @property
    def use_tpu(self) -> bool:
        return False  # refused on purpose

    @property
    def use_horovod(self) -> bool:
        return False  # refused on purpose

    @property
    def use_single_gpu(self) -> bool:
        trainer = cast("Trainer", self)
        return trainer.on_gpu and not (self.use_dp or self.use_ddp or self.use_ddp2)

    def get_model(self) -> LightningModule:
        """Lightning 1.0's name for `lightning_module`: the user's module, never a wrapper."""
        return self.lightning_module

    @property
    def lightning_module(self) -> LightningModule:
        trainer = cast("Trainer", self)
        if trainer.model is None:
            raise MisconfigurationException(
                "The trainer has no model yet; call trainer.fit(model) first."
            )
        return trainer.model

    @property
    def checkpoint_callback(self) -> ModelCheckpoint | None:
        trainer = cast("Trainer", self)
        for cb in trainer.callbacks:
            if isinstance(cb, ModelCheckpoint):
                return cb
        return None

    @property
    def checkpoint_callbacks(self) -> list[ModelCheckpoint]:
        trainer = cast("Trainer", self)
        return [cb for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint)]

    @property
    def progress_bar_callback(self) -> ProgressBarBase | None:
        trainer = cast("Trainer", self)
        for cb in trainer.callbacks:
            if isinstance(cb, ProgressBarBase):
                return cb
        return None

    @property
    def log_dir(self) -> str:
        trainer = cast("Trainer", self)
        log_dir = getattr(trainer.logger, "log_dir", None) if trainer.logger is not None else None
        return log_dir or trainer.default_root_dir

    @property
    def disable_validation(self) -> bool:
        trainer = cast("Trainer", self)
        return not trainer.enable_validation

    @property
    def enable_validation(self) -> bool:
        """True when fit has a validation loop (a validation_step, a loader and batches)."""
        trainer = cast("Trainer", self)
        module = trainer.model
        return (
            module is not None
            and overrides(module, "validation_step")
            and bool(trainer.val_dataloaders)
            and any(n > 0 for n in trainer.num_val_batches)
        )

    # --- metrics views ---------------------------------------------------------------------
    @property
    def callback_metrics(self) -> dict[str, torch.Tensor]:
        """Every logged value: the latest step values of this epoch and the last epoch values."""
        trainer = cast("Trainer", self)
        merged = dict(trainer._callback_metrics)
        if trainer._train_results is not None:
            merged.update(trainer._train_results.callback_step_metrics())
        return merged

    @callback_metrics.setter
    def callback_metrics(self, value: dict[str, Any]) -> None:
        trainer = cast("Trainer", self)
        trainer._callback_metrics = dict(value)

    @property
    def progress_bar_metrics(self) -> dict[str, Any]:
        trainer = cast("Trainer", self)
        merged = dict(trainer._progress_bar_metrics)
        if trainer._train_results is not None:
            merged.update(trainer._train_results.step_metrics(only_fresh=False, for_prog_bar=True))
        return merged

    @property
    def progress_bar_dict(self) -> dict[str, Any]:
        """What the progress bar shows: the module's items and the prog_bar metrics."""
        trainer = cast("Trainer", self)
        items = (
            trainer.lightning_module.get_progress_bar_dict() if trainer.model is not None else {}
        )
        for key, value in trainer.progress_bar_metrics.items():
            items[key] = value.item() if isinstance(value, torch.Tensor) else value
        return items

    def _running_loss_mean(self) -> float | None:
        trainer = cast("Trainer", self)
        if not trainer._running_losses:
            return None
        return torch.stack(list(trainer._running_losses)).float().mean().item()
