"""`AutomaticOptimization`: one batch under automatic optimization (Lightning 1.0's order).

Per optimizer (all of them, or the one whose turn it is under optimizer frequencies):
toggle_optimizer, training_step, training_step_end, backward, and on stepping batches
on_after_backward, gradient-norm tracking, clipping, optimizer_step, on_before_zero_grad,
optimizer_zero_grad. `start_epoch` reads the trainer's configuration once per epoch, so
`run` (every batch) touches only what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.step_outputs import (
    EpochOutputs,
    closure_for,
    detached_output,
    extract_loss,
)

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class AutomaticOptimization:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def start_epoch(
        self, epoch: int, accumulate: int, outputs: EpochOutputs, store: ResultStore
    ) -> None:
        self.store = store
        trainer = self.trainer
        hooks = trainer._hooks
        assert hooks is not None
        module = trainer.lightning_module
        self.epoch = epoch
        self.accumulate = accumulate
        self.outputs = outputs
        self.module = module
        self.strategy = trainer.strategy
        self.optimizers = trainer.optimizers
        self.multiple = len(self.optimizers) > 1
        self.frequencies = trainer.optimizer_frequencies
        self.clip = trainer.gradient_clip_val
        self.terminate_on_nan = trainer.terminate_on_nan
        self.track_norm = None if trainer.track_grad_norm in (-1, "-1") else trainer.track_grad_norm
        self.log_every = trainer.log_every_n_steps
        self.track_running_loss = trainer.progress_bar_callback is not None
        self.step_end = hooks.module_method("training_step_end")
        self.after_backward = hooks.batch_hook("on_after_backward")
        self.before_zero_grad = hooks.batch_hook("on_before_zero_grad")
        # toggle_optimizer switches requires_grad per optimizer; the user's flags go back after
        # each batch so nothing stays frozen when training ends
        self.grad_flags = (
            [(p, p.requires_grad) for p in module.parameters()] if self.multiple else []
        )

    def active_optimizers(self) -> Sequence[int | None]:
        if self.frequencies:
            return [_optimizer_for_frequency(self.frequencies, self.trainer.total_batch_idx)]
        return range(len(self.optimizers)) if self.optimizers else [None]

    def run(self, batch: Any, batch_idx: int, stepping: bool) -> list[Any]:
        """Train on one batch; returns on_train_batch_end's `outputs` (per optimizer, splits)."""
        module, strategy, outputs = self.module, self.strategy, self.outputs
        batch_outputs: list[Any] = []
        for opt_idx in self.active_optimizers():
            optimizer = self.optimizers[opt_idx] if opt_idx is not None else None
            if self.multiple and optimizer is not None:
                module.toggle_optimizer(optimizer, opt_idx or 0)
            module._current_fx_name = "training_step"
            out = (
                strategy.training_step(batch, batch_idx, opt_idx)
                if self.multiple
                else strategy.training_step(batch, batch_idx)
            )
            if self.step_end is not None:
                module._current_fx_name = "training_step_end"
                out = self.step_end(out)
            module._current_fx_name = None
            loss = extract_loss(out, self.store, module)
            if loss is None:
                continue
            outputs.usable_losses += 1
            if self.terminate_on_nan and not torch.isfinite(loss).all():
                raise MisconfigurationException(
                    f"The loss became {loss.item()} at epoch {self.epoch}, batch {batch_idx}; lower the learning "
                    "rate, clip gradients (gradient_clip_val) or check the data."
                )
            if optimizer is not None:
                accumulate = self.accumulate
                strategy.backward(
                    loss / accumulate if accumulate > 1 else loss, optimizer, opt_idx or 0
                )
                if stepping:
                    self._step(optimizer, opt_idx or 0, batch, batch_idx)
            if self.track_running_loss:
                self.trainer._running_losses.append(loss.detach())
            if outputs.gather:
                batch_outputs.append(outputs.add(detached_output(out, loss), opt_idx or 0))
        for param, flag in self.grad_flags:
            param.requires_grad = flag
        return batch_outputs

    def _step(
        self, optimizer: torch.optim.Optimizer, opt_idx: int, batch: Any, batch_idx: int
    ) -> None:
        trainer, module = self.trainer, self.module
        if self.after_backward is not None:
            self.after_backward()
        if self.track_norm is not None and (trainer.global_step + 1) % self.log_every == 0:
            trainer._log_to_logger(module.grad_norm(self.track_norm), trainer.global_step)
        if self.clip > 0:
            self.strategy.clip_gradients(optimizer, self.clip)
        closure = closure_for(trainer, batch, batch_idx, opt_idx, self.accumulate)
        self.strategy.optimizer_step(optimizer, opt_idx, self.epoch, batch_idx, closure)
        if self.before_zero_grad is not None:
            self.before_zero_grad(optimizer)
        module.optimizer_zero_grad(self.epoch, batch_idx, optimizer, opt_idx)


def _optimizer_for_frequency(frequencies: list[int], total_batch_idx: int) -> int:
    position = total_batch_idx % sum(frequencies)
    for idx, freq in enumerate(frequencies):
        if position < freq:
            return idx
        position -= freq
    return len(frequencies) - 1
