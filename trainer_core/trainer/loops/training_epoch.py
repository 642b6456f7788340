"""`TrainingEpochLoop`: the batches of one training epoch.

Per batch (Lightning 1.0's order): on_batch_start, on_train_batch_start (a -1 from the
module's ends the epoch), the optimization loop (automatic or manual), on_batch_end,
on_train_batch_end, step logging, step-interval schedulers, validation when due, then
`global_step` counts the step. A stop request checkpoints at this step boundary. At the end:
training_epoch_end, the epoch values, on_epoch_end, on_train_epoch_end, epoch schedulers.

A run resumed from a checkpoint taken inside the epoch re-creates the epoch's shuffle order
(`LoopState.epoch_start_rng`), skips the batches already trained and puts back the in-epoch
state (`mid_epoch.apply`) before the first batch it trains.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer import mid_epoch
from trainer_core.trainer.checkpointing import restore_rng_states, rng_states
from trainer_core.trainer.data import iterate_with_last
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.loops.automatic import AutomaticOptimization
from trainer_core.trainer.loops.epoch_end import end_training_epoch
from trainer_core.trainer.loops.evaluation import EvaluationLoop
from trainer_core.trainer.loops.manual import ManualOptimization
from trainer_core.trainer.optimizers import step_scheduler
from trainer_core.trainer.step_outputs import EpochOutputs

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainingEpochLoop:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.automatic = AutomaticOptimization(trainer)
        self.manual = ManualOptimization(trainer)
        self.val_loop = EvaluationLoop(trainer, "validation")
        self.outputs = EpochOutputs(gather=False, n_optimizers=1)

    def run(self) -> None:
        trainer = self.trainer
        module = trainer.lightning_module
        hooks = trainer._hooks
        assert hooks is not None
        epoch = trainer.current_epoch
        state = trainer.loop_state
        state.epoch_schedulers_pending = bool(trainer.lr_schedulers)
        state.batches_done = 0

        store = ResultStore("train", trainer.strategy.reduce)
        trainer._train_results = store
        module._results = store
        module.train()
        hooks.call("on_epoch_start")
        hooks.call("on_train_epoch_start")

        automatic = module.automatic_optimization
        outputs = EpochOutputs(
            gather=hooks.module_method("training_epoch_end") is not None,
            n_optimizers=len(trainer.optimizers),
        )
        self.outputs = outputs
        optimization = self.automatic if automatic else self.manual
        accumulate = _accumulation_for(trainer, epoch)
        optimization.start_epoch(epoch, accumulate, outputs, store)
        train_batch = optimization.batch_runner()

        # everything the batch loop needs, read once
        # Lightning 1.0 calls on_batch_start / on_batch_end on callbacks only, not the module
        batch_start = hooks.batch_hook("on_batch_start", module_too=False)
        train_batch_start = hooks.batch_hook("on_train_batch_start")
        batch_end = hooks.batch_hook("on_batch_end", module_too=False)
        train_batch_end = hooks.batch_hook("on_train_batch_end")
        strategy = trainer.strategy
        transfer = (
            strategy.needs_batch_transfer
            or hooks.module_method("transfer_batch_to_device") is not None
        )
        step_schedulers = [c for c in trainer.lr_schedulers if c.interval == "step"]
        logger_on = trainer.logger is not None
        log_every = trainer.log_every_n_steps
        fast_dev_run = trainer.fast_dev_run
        max_steps = trainer.max_steps if trainer.max_steps is not None else math.inf
        validate_this_epoch = (
            trainer.enable_validation and (epoch + 1) % trainer.check_val_every_n_epoch == 0
        )
        val_check_batch = trainer.val_check_batch
        stop_request = trainer._stop_request
        distributed = trainer.world_size > 1

        batches_seen = 0
        skip, resume_payload = mid_epoch.skipped_batches(trainer)
        if skip and state.epoch_start_rng is not None:
            # the same RNG as when this epoch first began: the same shuffle order to skip through
            restore_rng_states(state.epoch_start_rng)
        else:
            state.epoch_start_rng = rng_states()
        for batch_idx, batch, is_last in iterate_with_last(
            trainer.train_dataloader, trainer.num_training_batches
        ):
            if batch_idx < skip:
                continue  # trained before the run was stopped
            if skip and batch_idx == skip:
                mid_epoch.apply(trainer, resume_payload, outputs)
            trainer.batch_idx = batch_idx
            state.mid_epoch = not is_last
            batches_seen += 1
            store.new_batch(batch)
            if transfer:
                batch = strategy.batch_to_device(batch, 0)
            # an accumulation window's last batch steps (manual_optimizer_step follows it too)
            stepping = (batch_idx + 1) % accumulate == 0 or is_last
            state.window_ends = stepping
            if batch_start is not None:
                batch_start()
            if train_batch_start is not None and train_batch_start(batch, batch_idx, 0) == -1:
                # Lightning 1.0 ends the epoch here and still counts this batch's step (its
                # epoch-end step increment), though the batch did not train
                state.mid_epoch = False
                if stepping:
                    trainer.global_step += 1
                break
            batch_outputs = train_batch(batch, batch_idx, stepping)

            if batch_end is not None:
                batch_end()
            if train_batch_end is not None:
                train_batch_end(batch_outputs, batch, batch_idx, 0)
            state.batches_done = batch_idx + 1

            if logger_on and (
                (trainer.global_step + 1) % log_every == 0 or trainer.should_stop or fast_dev_run
            ):
                step_metrics = store.step_metrics(only_fresh=True, for_logger=True)
                if step_metrics:
                    trainer._log_to_logger(step_metrics, trainer.global_step)
            if stepping:
                for config in step_schedulers:
                    if (batch_idx + 1) % config.frequency == 0:
                        step_scheduler(config, trainer.callback_metrics)
            state.total_batch_idx += 1  # trainer.total_batch_idx, without the property

            if validate_this_epoch and (
                (batch_idx + 1) % val_check_batch == 0 if val_check_batch != math.inf else is_last
            ):
                self._validate(stepping, store)
            if stepping:
                trainer.global_step += 1
            if (
                not is_last
                and trainer.global_step < max_steps
                and (trainer._stop_requested() if distributed else stop_request.requested)
            ):
                trainer._checkpoint_and_stop()  # a step boundary inside the epoch
            if trainer.global_step >= max_steps or (
                trainer.should_stop and not is_last and epoch + 1 >= trainer.min_epochs
            ):
                break

        if automatic and trainer.optimizers and batches_seen and not outputs.usable_losses:
            raise MisconfigurationException(
                f"training_step returned nothing usable for every batch of epoch {epoch}: under automatic "
                "optimization return the loss tensor (or a dict with a 'loss' key). For manual optimization "
                "set self.automatic_optimization = False (or Trainer(automatic_optimization=False))."
            )
        end_training_epoch(trainer, store, outputs)

    def _validate(self, stepping: bool, store: ResultStore) -> None:
        """Lightning 1.0: validation runs before global_step counts this batch's step, so it
        sees (and logs at) the step of the batch it follows; a checkpoint written meanwhile
        adds the pending step (`LoopState.step_increment_pending`)."""
        trainer = self.trainer
        state = trainer.loop_state
        state.step_increment_pending = stepping
        try:
            self.val_loop.run(trainer.val_dataloaders, trainer.num_val_batches)
        finally:
            state.step_increment_pending = False
        trainer.lightning_module._results = store


def _accumulation_for(trainer: Trainer, epoch: int) -> int:
    schedule = trainer.accumulate_grad_batches
    if isinstance(schedule, dict):
        current = 1
        for start in sorted(schedule):
            if epoch >= start:
                current = int(schedule[start])
        return current
    return int(schedule)
