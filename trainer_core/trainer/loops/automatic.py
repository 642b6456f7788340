"""`AutomaticOptimization`: one batch under automatic optimization (Lightning 1.0's order).

Per optimizer (all of them, or the one whose turn it is under optimizer frequencies):
toggle_optimizer, training_step, training_step_end, backward, and on stepping batches
on_after_backward, gradient-norm tracking, clipping, optimizer_step, on_before_zero_grad,
optimizer_zero_grad. `start_epoch` reads the trainer's configuration once per epoch, so
`run` (every batch) touches only what it needs.

`batch_runner` hands the epoch loop `run`, or in the common case `run_direct`: one optimizer
and nothing overriding what lies between training_step and the optimizer (no strategy or
precision plugin that changes the step, no module backward / optimizer_step /
optimizer_zero_grad, no clipping, norm tracking, NaN checks or step hooks). Every layer of
the general path then passes its call straight through, so `run_direct` makes the calls
they would end in and skips the ~25 Python calls between them, about half the loop's
per-batch cost (bench/trainer_overhead.py). Both paths train bit for bit alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.precision import PrecisionPlugin, calls_closure_once
from trainer_core.strategies.base import Strategy
from trainer_core.trainer.hooks import HookDispatcher, set_current_hook
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.step_outputs import (
    EpochOutputs,
    StepClosure,
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
        self.tbptt_steps = trainer.truncated_bptt_steps
        self.hiddens: Any = None
        self.closure = StepClosure(trainer, accumulate)
        # toggle_optimizer switches requires_grad per optimizer; the user's flags go back after
        # each batch so nothing stays frozen when training ends
        self.grad_flags = (
            [(p, p.requires_grad) for p in module.parameters()] if self.multiple else []
        )
        # without optimizer frequencies every batch trains the same optimizers
        self.every_batch: Sequence[int | None] = (
            range(len(self.optimizers)) if self.optimizers else [None]
        )
        self.direct = self._direct_possible(hooks)
        self.module_names = vars(module)  # where `_current_fx_name` lives

    def _direct_possible(self, hooks: HookDispatcher) -> bool:
        strategy = type(self.strategy)
        return (
            len(self.optimizers) == 1
            and not self.frequencies
            and self.tbptt_steps is None
            and self.step_end is None
            and self.after_backward is None
            and self.before_zero_grad is None
            and not self.clip > 0
            and self.track_norm is None
            and not self.terminate_on_nan
            and strategy.training_step is Strategy.training_step
            and strategy.backward is Strategy.backward
            and strategy.optimizer_step is Strategy.optimizer_step
            and type(self.strategy.precision_plugin) is PrecisionPlugin
            and all(
                hooks.module_method(name) is None
                for name in ("backward", "optimizer_step", "optimizer_zero_grad")
            )
            and calls_closure_once(self.optimizers[0])
        )

    def batch_runner(self) -> Callable[[Any, int, bool], list[Any]]:
        """What trains one batch this epoch: `run`, or `run_direct` where it does the same."""
        return self.run_direct if self.direct else self.run

    def run_direct(self, batch: Any, batch_idx: int, stepping: bool) -> list[Any]:
        """`run` for one optimizer with nothing overriding the layers between training_step
        and the optimizer: the calls those layers end in, without the layers."""
        module, outputs, names = self.module, self.outputs, self.module_names
        names["_current_fx_name"] = "training_step"  # set_current_hook, a tenth of its cost
        out = module.training_step(batch, batch_idx)
        names["_current_fx_name"] = None
        loss = (
            out
            if type(out) is torch.Tensor and out.requires_grad
            else extract_loss(out, self.store, module)
        )
        attached = self.store.attached
        if attached:
            if len(attached) == 1 and attached[0].latest is loss:
                attached.clear()  # only the loss itself, whose graph backward frees
            else:
                self.store.detach_all_but(loss)
        if loss is None:
            return []
        outputs.usable_losses += 1
        accumulate = self.accumulate
        (loss / accumulate if accumulate > 1 else loss).backward()
        if stepping:
            optimizer = self.optimizers[0]
            optimizer.step()
            optimizer.zero_grad()
        if self.track_running_loss:
            self.trainer._running_losses.append(loss.detach())
        return outputs.add_batch([(0, detached_output(out, loss))]) if outputs.gather else []

    def active_optimizers(self) -> Sequence[int | None]:
        if self.frequencies:
            return [_optimizer_for_frequency(self.frequencies, self.trainer.total_batch_idx)]
        return self.every_batch

    def run(self, batch: Any, batch_idx: int, stepping: bool) -> list[Any]:
        """Train on one batch; returns on_train_batch_end's `outputs` (per optimizer, splits)."""
        if self.tbptt_steps is None:
            kept = [
                (opt_idx or 0, self._train(batch, batch_idx, opt_idx, stepping, False))
                for opt_idx in self.active_optimizers()
            ]
            batch_outputs = self.outputs.add_batch(kept) if self.outputs.gather else []
        else:
            batch_outputs = self._run_tbptt(batch, batch_idx, stepping, self.tbptt_steps)
        for param, flag in self.grad_flags:
            param.requires_grad = flag
        return batch_outputs

    def _run_tbptt(self, batch: Any, batch_idx: int, stepping: bool, steps: int) -> list[Any]:
        """Truncated BPTT: each time window of the batch trains (and steps) in turn, with the
        `hiddens` the previous window's training_step returned (None for the first)."""
        self.hiddens = None
        active = list(self.active_optimizers())
        windows: list[list[Any]] = [[] for _ in active]  # per active optimizer, per window
        for split in self.module.tbptt_split_batch(batch, steps):
            for position, opt_idx in enumerate(active):
                windows[position].append(self._train(split, batch_idx, opt_idx, stepping, True))
        if not self.outputs.gather:
            return []
        return self.outputs.add_batch(
            [(opt_idx or 0, per_opt) for opt_idx, per_opt in zip(active, windows, strict=True)]
        )

    def _train(
        self, batch: Any, batch_idx: int, opt_idx: int | None, stepping: bool, tbptt: bool
    ) -> Any:
        """One training step for one optimizer; returns its detached output (None if the
        step returned nothing usable)."""
        module, strategy, outputs = self.module, self.strategy, self.outputs
        optimizer = self.optimizers[opt_idx] if opt_idx is not None else None
        if self.multiple and optimizer is not None:
            module.toggle_optimizer(optimizer, opt_idx or 0)
        args: tuple[Any, ...] = (batch, batch_idx, opt_idx) if self.multiple else (batch, batch_idx)
        if tbptt:
            args = (*args, self.hiddens)
        set_current_hook(module, "training_step")
        out = strategy.training_step(*args)
        if self.step_end is not None:
            set_current_hook(module, "training_step_end")
            out = self.step_end(out)
        set_current_hook(module, None)
        if tbptt and isinstance(out, dict):
            self.hiddens = out.pop("hiddens", None)
        loss = extract_loss(out, self.store, module)
        if self.store.attached:
            self.store.detach_all_but(loss)
        if loss is None:
            return None
        outputs.usable_losses += 1
        if optimizer is not None:
            accumulate = self.accumulate
            strategy.backward(
                loss / accumulate if accumulate > 1 else loss, optimizer, opt_idx or 0
            )
            if stepping and self.after_backward is not None:
                self.after_backward()
        if self.terminate_on_nan:
            _refuse_nan(loss, module, self.epoch, batch_idx)
        if optimizer is not None and stepping:
            self._step(optimizer, opt_idx or 0, batch, batch_idx, loss)
        if self.track_running_loss:
            self.trainer._running_losses.append(loss.detach())
        return detached_output(out, loss) if outputs.gather else None

    def _step(
        self,
        optimizer: torch.optim.Optimizer,
        opt_idx: int,
        batch: Any,
        batch_idx: int,
        loss: torch.Tensor,
    ) -> None:
        trainer, module = self.trainer, self.module
        if self.track_norm is not None and (trainer.global_step + 1) % self.log_every == 0:
            trainer._log_to_logger(module.grad_norm(self.track_norm), trainer.global_step)
        if self.clip > 0:
            self.strategy.clip_gradients(optimizer, self.clip)
        closure = self.closure
        closure.arm(batch, batch_idx, opt_idx, loss)
        self.strategy.optimizer_step(optimizer, opt_idx, self.epoch, batch_idx, closure)
        if self.before_zero_grad is not None:
            self.before_zero_grad(optimizer)
        module.optimizer_zero_grad(self.epoch, batch_idx, optimizer, opt_idx)


def _refuse_nan(loss: torch.Tensor, module: Any, epoch: int, batch_idx: int) -> None:
    """`terminate_on_nan`: checked after backward, before the optimizer steps, so the weights
    stay as they were before the step that would have spoilt them."""
    if not torch.isfinite(loss).all():
        raise MisconfigurationException(
            f"The loss returned in `training_step` is nan or inf ({loss.item()}) at epoch {epoch}, batch "
            f"{batch_idx}; lower the learning rate, clip gradients (gradient_clip_val) or check the data."
        )
    for name, param in module.named_parameters():
        if not torch.isfinite(param).all():
            raise MisconfigurationException(
                f"Detected nan and/or inf values in `{name}` at epoch {epoch}, batch {batch_idx}; look for "
                "numerically unstable operations in the forward pass or in hooks that change weights."
            )


def _optimizer_for_frequency(frequencies: list[int], total_batch_idx: int) -> int:
    position = total_batch_idx % sum(frequencies)
    for idx, freq in enumerate(frequencies):
        if position < freq:
            return idx
        position -= freq
    return len(frequencies) - 1
