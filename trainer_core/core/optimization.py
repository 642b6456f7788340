"""`OptimizationHooks`: how a LightningModule's parameters get updated (Lightning 1.0's API).

Under automatic optimization the Trainer calls `backward`, `optimizer_step` and
`optimizer_zero_grad`; under manual optimization `training_step` calls `manual_backward` and
either steps `self.optimizers()` itself or hands the step to `manual_optimizer_step`, which
follows `accumulate_grad_batches` and zeroes the gradients after stepping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.precision import PrecisionPlugin, ScaledOptimizer

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class OptimizationHooks:
    if TYPE_CHECKING:  # LightningModule's; not class annotations, which TorchScript would read
        trainer: Trainer | None
        automatic_optimization: bool

    def optimizers(self) -> Any:
        """The optimizer, or the list of them when `configure_optimizers` returned several."""
        if self.trainer is None:
            raise MisconfigurationException(
                "self.optimizers() needs a Trainer; call it from a step while fitting."
            )
        opts = self.trainer.stepping_optimizers or self.trainer.optimizers
        return opts[0] if len(opts) == 1 else opts

    def lr_schedulers(self) -> Any:
        if self.trainer is None:
            return None
        scheds = [cfg.scheduler for cfg in self.trainer.lr_schedulers]
        if not scheds:
            return None
        return scheds[0] if len(scheds) == 1 else scheds

    def backward(
        self, loss: torch.Tensor, optimizer: Any, optimizer_idx: int, *args: Any, **kwargs: Any
    ) -> None:
        """Run backward on `loss` (already divided by accumulate_grad_batches)."""
        loss.backward(*args, **kwargs)

    def manual_backward(
        self, loss: torch.Tensor, optimizer: Any = None, *args: Any, **kwargs: Any
    ) -> None:
        """Backward for manual optimization: handles mixed-precision scaling and clipping."""
        self._manual_trainer("manual_backward")._manual_backward(loss, optimizer, *args, **kwargs)

    def manual_optimizer_step(
        self,
        optimizer: Any,
        *args: Any,
        make_optimizer_step: bool | None = None,
        optimizer_closure: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Step `optimizer` from training_step under manual optimization (Lightning 1.0).

        By default it steps on the batches that end an `accumulate_grad_batches` window and
        only runs `optimizer_closure` on the others, so gradients accumulate;
        `make_optimizer_step=True/False` decides instead. A step goes through the
        `optimizer_step` hook (extra `args`/`kwargs` reach `optimizer.step`, with the closure
        as `closure=`; under precision=16 through the loss scaler), then zeroes the gradients.
        """
        trainer = self._manual_trainer("manual_optimizer_step")
        step = (
            trainer.loop_state.window_ends if make_optimizer_step is None else make_optimizer_step
        )
        if not step:
            if callable(optimizer_closure):
                optimizer_closure()
            return
        # the user's own manual_backward calls do the work when no closure is given
        closure = optimizer_closure if callable(optimizer_closure) else _no_closure
        raw = optimizer
        if isinstance(optimizer, ScaledOptimizer):
            raw = optimizer.optimizer
            optimizer.stepped = True  # the loop updates the loss scaler after this batch
        self.optimizer_step(
            trainer.current_epoch,
            trainer.batch_idx,
            raw,
            None,
            closure,
            False,
            trainer.strategy.precision_plugin.uses_scaler,
            isinstance(raw, torch.optim.LBFGS),
            *args,
            **kwargs,
        )
        raw.zero_grad()

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: torch.optim.Optimizer,
        optimizer_idx: int | None = 0,
        optimizer_closure: Callable[[], Any] | None = None,
        on_tpu: bool = False,
        using_native_amp: bool = False,
        using_lbfgs: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Step `optimizer`, passing it `optimizer_closure` as 1.0 does (an override should
        too: `optimizer.step(closure=optimizer_closure)`). Under automatic optimization this
        batch's forward and backward already ran: the closure's first call returns that loss,
        later calls (LBFGS) re-run them. `args`/`kwargs` (from `manual_optimizer_step`) go to
        `optimizer.step`."""
        precision = self.trainer.strategy.precision_plugin if self.trainer is not None else None
        if precision is not None:
            precision.step(optimizer, optimizer_closure, *args, **kwargs)
        else:
            PrecisionPlugin().step(optimizer, optimizer_closure, *args, **kwargs)

    def optimizer_zero_grad(
        self, epoch: int, batch_idx: int, optimizer: torch.optim.Optimizer, optimizer_idx: int
    ) -> None:
        optimizer.zero_grad()

    def toggle_optimizer(self, optimizer: torch.optim.Optimizer, optimizer_idx: int) -> None:
        """Only the parameters of `optimizer` require grad (with several optimizers)."""
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for opt in self.trainer.optimizers if self.trainer is not None else []:
            for group in opt.param_groups:
                for param in group["params"]:
                    param.requires_grad = id(param) in owned

    def _manual_trainer(self, method: str) -> Trainer:
        """The trainer, for a method only manual optimization may call."""
        if self.trainer is None:
            raise MisconfigurationException(
                f"{method} needs a Trainer; call it from training_step while fitting."
            )
        if self.automatic_optimization:
            raise MisconfigurationException(
                f"{method} is for manual optimization. Set Trainer(automatic_optimization=False) or "
                "self.automatic_optimization = False, or just return the loss from training_step."
            )
        return self.trainer


def _no_closure() -> None:
    """What a manual step passes as its closure when the user gave none (1.0)."""
