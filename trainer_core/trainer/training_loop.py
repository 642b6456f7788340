"""The training loop: epochs, then batches.

Per batch (automatic optimization, Lightning 1.0's order): on_batch_start,
on_train_batch_start, training_step, training_step_end, backward, and on stepping batches
on_after_backward, clipping, optimizer_step, on_before_zero_grad, optimizer_zero_grad; then
on_batch_end, on_train_batch_end, step logging, and validation when due.

The batch loop is one function on purpose: it runs every step, so it reads hooks and flags
into locals once per epoch and calls only hooks that are overridden.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer import evaluation_loop, mid_epoch
from trainer_core.trainer.checkpointing import restore_rng_states, rng_states
from trainer_core.trainer.data import iterate_with_last
from trainer_core.trainer.hooks import positional_arity
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.optimizers import step_scheduler
from trainer_core.trainer.step_outputs import (
    closure_for,
    detached_output,
    extract_loss,
    step_result,
)

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


def train(trainer: Trainer) -> None:
    """Run epochs from `current_epoch` until max_epochs/max_steps or a permitted early stop."""
    module = trainer.lightning_module
    trainer._call_hook("on_train_start")
    first_epoch = trainer.current_epoch
    if not trainer.loop_state.resume_batches:
        trainer.total_batch_idx = 0
    for epoch in range(first_epoch, trainer.max_epochs):
        if trainer.max_steps is not None and trainer.global_step >= trainer.max_steps:
            break
        trainer.current_epoch = epoch
        if epoch > first_epoch and trainer.reload_dataloaders_every_epoch:
            trainer.train_dataloader = trainer._request_train_loader(
                module, trainer._train_loader_source, trainer.datamodule
            )
        with trainer.profiler.profile("run_training_epoch"):
            run_epoch(trainer)
        if epoch + 1 < trainer.max_epochs and trainer._stop_requested():
            trainer._checkpoint_and_stop()  # at the epoch boundary: an epoch-end checkpoint
        if trainer.should_stop:
            if epoch + 1 >= trainer.min_epochs and (
                trainer.min_steps is None or trainer.global_step >= trainer.min_steps
            ):
                break
            trainer.should_stop = False  # early stop asked too soon: min_epochs/min_steps win
        if trainer.max_steps is not None and trainer.global_step >= trainer.max_steps:
            break
    trainer._call_hook("on_train_end")
    trainer.profiler.describe()


def _accumulation_for(trainer: Trainer, epoch: int) -> int:
    schedule = trainer.accumulate_grad_batches
    if isinstance(schedule, dict):
        current = 1
        for start in sorted(schedule):
            if epoch >= start:
                current = int(schedule[start])
        return current
    return int(schedule)


def run_epoch(trainer: Trainer) -> None:
    module = trainer.lightning_module
    strategy = trainer.strategy
    hooks = trainer._hooks
    assert hooks is not None
    epoch = trainer.current_epoch
    state = trainer.loop_state
    state.epoch_schedulers_pending = bool(trainer.lr_schedulers)
    state.batches_done = 0

    store = ResultStore("train", strategy.reduce)
    trainer._train_results = store
    module._results = store
    module.train()
    trainer._call_hook("on_epoch_start")
    trainer._call_hook("on_train_epoch_start")

    # everything the batch loop needs, read once
    automatic = module.automatic_optimization
    optimizers = trainer.optimizers
    multiple_opts = len(optimizers) > 1
    frequencies = trainer.optimizer_frequencies
    accumulate = _accumulation_for(trainer, epoch)
    clip = trainer.gradient_clip_val
    step_schedulers = [c for c in trainer.lr_schedulers if c.interval == "step"]
    gather = hooks.module_method("training_epoch_end") is not None
    step_end = hooks.module_method("training_step_end")
    cb_batch_start = hooks.callback_methods("on_batch_start")
    cb_train_batch_start = hooks.callback_methods("on_train_batch_start")
    cb_batch_end = hooks.callback_methods("on_batch_end")
    cb_train_batch_end = hooks.callback_methods("on_train_batch_end")
    cb_after_backward = hooks.callback_methods("on_after_backward")
    cb_before_zero_grad = hooks.callback_methods("on_before_zero_grad")
    m_batch_start = hooks.module_method("on_batch_start")
    m_train_batch_start = hooks.module_method("on_train_batch_start")
    m_batch_end = hooks.module_method("on_batch_end")
    m_train_batch_end = hooks.module_method("on_train_batch_end")
    m_after_backward = hooks.module_method("on_after_backward")
    m_before_zero_grad = hooks.module_method("on_before_zero_grad")
    transfer = (
        strategy.needs_batch_transfer or hooks.module_method("transfer_batch_to_device") is not None
    )
    step_arity = positional_arity(module.training_step)
    pass_opt_idx = step_arity >= 3  # the seed's manual GAN step takes (batch, batch_idx, opt_idx)
    track_running_loss = trainer.progress_bar_callback is not None
    running_losses = trainer._running_losses
    terminate_on_nan = trainer.terminate_on_nan
    logger_on = trainer.logger is not None
    log_every = trainer.log_every_n_steps
    track_norm = None if trainer.track_grad_norm in (-1, "-1") else trainer.track_grad_norm
    fast_dev_run = trainer.fast_dev_run
    max_steps = trainer.max_steps if trainer.max_steps is not None else math.inf
    validate_this_epoch = (
        trainer.enable_validation and (epoch + 1) % trainer.check_val_every_n_epoch == 0
    )
    val_check_batch = trainer.val_check_batch
    training_step = strategy.training_step

    # toggle_optimizer switches requires_grad per optimizer; put the user's flags back after
    # each batch so nothing stays frozen when training ends
    grad_flags = (
        [(p, p.requires_grad) for p in module.parameters()] if automatic and multiple_opts else []
    )

    stop_request = trainer._stop_request
    distributed = trainer.world_size > 1
    outputs: list[Any] = []  # what training_epoch_end receives
    trainer._epoch_outputs = outputs
    # Lightning 1.0's hook outputs: per optimizer, per batch, per tbptt split (one split here)
    outputs_by_optimizer: list[list[Any]] = [[] for _ in range(max(1, len(optimizers)))]
    usable_losses = 0
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
            mid_epoch.apply(trainer, resume_payload)
        state.mid_epoch = not is_last
        batches_seen += 1
        store.new_batch(batch)
        if transfer:
            batch = strategy.batch_to_device(batch, 0)
        stop_epoch = False
        for method in cb_batch_start:
            method(trainer, module)
        if m_batch_start is not None and m_batch_start(batch) == -1:
            stop_epoch = True
        for method in cb_train_batch_start:
            method(trainer, module, batch, batch_idx, 0)
        if m_train_batch_start is not None and m_train_batch_start(batch, batch_idx, 0) == -1:
            stop_epoch = True
        if stop_epoch:
            state.mid_epoch = False
            break

        stepping = (batch_idx + 1) % accumulate == 0 or is_last
        batch_outputs: list[Any] = []  # on_train_batch_end's `outputs`
        active: Sequence[int | None]
        if automatic:
            if frequencies:
                active = [_optimizer_for_frequency(frequencies, trainer.total_batch_idx)]
            else:
                active = range(len(optimizers)) if optimizers else [None]
            for opt_idx in active:
                optimizer = optimizers[opt_idx] if opt_idx is not None else None
                if multiple_opts and optimizer is not None:
                    module.toggle_optimizer(optimizer, opt_idx or 0)
                module._current_fx_name = "training_step"
                out = (
                    training_step(batch, batch_idx, opt_idx)
                    if multiple_opts
                    else training_step(batch, batch_idx)
                )
                if step_end is not None:
                    module._current_fx_name = "training_step_end"
                    out = step_end(out)
                module._current_fx_name = None
                loss = extract_loss(out, store, module)
                if loss is None:
                    continue
                usable_losses += 1
                if terminate_on_nan and not torch.isfinite(loss).all():
                    raise MisconfigurationException(
                        f"The loss became {loss.item()} at epoch {epoch}, batch {batch_idx}; lower the learning rate, "
                        "clip gradients (gradient_clip_val) or check the data."
                    )
                if optimizer is not None:
                    strategy.backward(
                        loss / accumulate if accumulate > 1 else loss, optimizer, opt_idx or 0
                    )
                    if stepping:
                        for method in cb_after_backward:
                            method(trainer, module)
                        if m_after_backward is not None:
                            m_after_backward()
                        if track_norm is not None and (trainer.global_step + 1) % log_every == 0:
                            trainer._log_to_logger(
                                module.grad_norm(track_norm), trainer.global_step
                            )
                        if clip > 0:
                            strategy.clip_gradients(optimizer, clip)
                        strategy.optimizer_step(
                            optimizer,
                            opt_idx or 0,
                            epoch,
                            batch_idx,
                            closure_for(trainer, batch, batch_idx, opt_idx, accumulate),
                        )
                        for method in cb_before_zero_grad:
                            method(trainer, module, optimizer)
                        if m_before_zero_grad is not None:
                            m_before_zero_grad(optimizer)
                        module.optimizer_zero_grad(epoch, batch_idx, optimizer, opt_idx or 0)
                if track_running_loss:
                    running_losses.append(loss.detach())
                if gather:
                    kept = detached_output(out, loss)
                    outputs.append(kept)
                    splits = [step_result(kept)]
                    batch_outputs.append(splits)
                    outputs_by_optimizer[opt_idx or 0].append(splits)
            for param, flag in grad_flags:
                param.requires_grad = flag
        else:
            module._current_fx_name = "training_step"
            out = (
                training_step(batch, batch_idx, 0)
                if pass_opt_idx
                else training_step(batch, batch_idx)
            )
            if step_end is not None:
                module._current_fx_name = "training_step_end"
                out = step_end(out)
            module._current_fx_name = None
            usable_losses += 1
            stepping = True  # in manual optimization every batch counts as a step
            if gather:
                kept = detached_output(out, None)
                if kept is not None:
                    outputs.append(kept)
                    splits = [step_result(kept)]
                    batch_outputs.append(splits)
                    outputs_by_optimizer[0].append(splits)

        for method in cb_batch_end:
            method(trainer, module)
        if m_batch_end is not None:
            m_batch_end()
        for method in cb_train_batch_end:
            method(trainer, module, batch_outputs, batch, batch_idx, 0)
        if m_train_batch_end is not None:
            m_train_batch_end(batch_outputs, batch, batch_idx, 0)
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
        trainer.total_batch_idx += 1

        # Lightning 1.0: validation runs before global_step counts this batch's step, so it
        # sees (and logs at) the step of the batch it follows; checkpoints add the pending step
        if validate_this_epoch and (
            (batch_idx + 1) % val_check_batch == 0 if val_check_batch != math.inf else is_last
        ):
            state.step_increment_pending = stepping
            try:
                evaluation_loop.run(
                    trainer, "validation", trainer.val_dataloaders, trainer.num_val_batches
                )
            finally:
                state.step_increment_pending = False
            module._results = store
        if stepping:
            trainer.global_step += 1
        if (
            not is_last
            and trainer.global_step < max_steps
            and (trainer._stop_requested() if distributed else stop_request.requested)
        ):
            trainer._checkpoint_and_stop()  # a step boundary inside the epoch
        if trainer.global_step >= max_steps or (
            trainer.should_stop and not is_last and _may_stop(trainer)
        ):
            break

    if automatic and optimizers and batches_seen and not usable_losses:
        raise MisconfigurationException(
            f"training_step returned nothing usable for every batch of epoch {epoch}: under automatic optimization "
            "return the loss tensor (or a dict with a 'loss' key). For manual optimization set "
            "self.automatic_optimization = False (or Trainer(automatic_optimization=False))."
        )
    _end_epoch(trainer, store, outputs, outputs_by_optimizer, gather)


def _may_stop(trainer: Trainer) -> bool:
    return trainer.current_epoch + 1 >= trainer.min_epochs


def _optimizer_for_frequency(frequencies: list[int], total_batch_idx: int) -> int:
    position = total_batch_idx % sum(frequencies)
    for idx, freq in enumerate(frequencies):
        if position < freq:
            return idx
        position -= freq
    return len(frequencies) - 1


def _end_epoch(
    trainer: Trainer,
    store: ResultStore,
    outputs: list[Any],
    outputs_by_optimizer: list[list[Any]],
    gather: bool,
) -> None:
    module = trainer.lightning_module
    trainer.loop_state.mid_epoch = False
    if gather:
        module._current_fx_name = "training_epoch_end"
        epoch_end: Any = module.training_epoch_end
        returned = epoch_end(outputs)
        module._current_fx_name = None
        if returned is not None:
            raise MisconfigurationException(
                "training_epoch_end must return None; log values with self.log(...) instead of returning them."
            )
    _publish_train_results(trainer, store)
    # epoch-end hooks may still self.log (common in 2.x-style code); publish what they add
    trainer._call_hook("on_epoch_end")
    trainer._call_hook("on_train_epoch_end", outputs_by_optimizer)
    _publish_train_results(trainer, store)
    module._results = None
    trainer._step_epoch_schedulers(trainer.current_epoch, trainer.callback_metrics)
    if trainer.logger is not None and trainer.is_global_zero:
        trainer.logger.save()


def _publish_train_results(trainer: Trainer, store: ResultStore) -> None:
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
