"""`FitLoop`: epoch after epoch, from `current_epoch` until max_epochs / max_steps or a
permitted early stop (min_epochs / min_steps win over an early request)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from trainer_core.core import submodule_access
from trainer_core.core.module import LightningModule
from trainer_core.trainer.loops.training_epoch import TrainingEpochLoop
from trainer_core.utilities.distributed import current_rank

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer

# Lightning 1.0's logger name and level (INFO), so `logging.getLogger("lightning")` settings
# and caplog-style captures keep working; no handler of our own: the application decides.
log = logging.getLogger("lightning")
if log.level == logging.NOTSET:
    log.setLevel(logging.INFO)


class FitLoop:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.epoch_loop = TrainingEpochLoop(trainer)

    def run(self) -> None:
        trainer = self.trainer
        hooks = trainer._hooks
        assert hooks is not None
        submodule_access.install(trainer.lightning_module, LightningModule)
        hooks.call("on_train_start")
        first_epoch = trainer.current_epoch
        if not trainer.loop_state.resume_batches:
            trainer.total_batch_idx = 0
        batches_before = trainer.total_batch_idx
        # Lightning 1.0: limit_train_batches=0 trains nothing (no epoch, not even its epoch-end
        # hooks), straight to on_train_end
        last_epoch = trainer.max_epochs if trainer.num_training_batches else first_epoch
        for epoch in range(first_epoch, last_epoch):
            if self._max_steps_reached():
                break
            trainer.current_epoch = epoch
            if epoch > first_epoch and trainer.reload_dataloaders_every_epoch:
                trainer.train_dataloader = trainer._request_train_loader(
                    trainer.lightning_module, trainer._train_loader_source, trainer.datamodule
                )
            with trainer.profiler.profile("run_training_epoch"):
                self.epoch_loop.run()
            if epoch + 1 < trainer.max_epochs and trainer._stop_requested():
                trainer._checkpoint_and_stop()  # at the epoch boundary: an epoch-end checkpoint
            if trainer.should_stop:
                if self._minimum_reached(epoch):
                    break
                trainer.should_stop = False  # early stop asked too soon: min_epochs/min_steps win
            if self._max_steps_reached():
                break
        if trainer.total_batch_idx > batches_before:
            self._save_at_train_end()
        hooks.call("on_train_end")
        trainer.profiler.describe()

    def _save_at_train_end(self) -> None:
        """Lightning 1.0: a last checkpoint check once training ends, before on_train_end
        (it saves when the last step was not checkpointed yet, e.g. val_check_interval < 1)."""
        trainer = self.trainer
        callbacks = trainer.checkpoint_callbacks
        if any(cb.save_last for cb in callbacks) and current_rank() == 0:
            log.info("Saving latest checkpoint...")
        for callback in callbacks:
            callback.save_at_train_end(trainer, trainer.lightning_module)

    def _max_steps_reached(self) -> bool:
        max_steps = self.trainer.max_steps
        return max_steps is not None and self.trainer.global_step >= max_steps

    def _minimum_reached(self, epoch: int) -> bool:
        trainer = self.trainer
        return epoch + 1 >= trainer.min_epochs and (
            trainer.min_steps is None or trainer.global_step >= trainer.min_steps
        )
