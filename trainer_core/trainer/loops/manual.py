"""`ManualOptimization`: one batch under `automatic_optimization = False`.

training_step drives its optimizers itself (`self.manual_backward`, `optimizer.step()`);
the loop only calls it (and training_step_end) and keeps what it returns. `global_step`
counts accumulation windows as under automatic optimization (`self.manual_optimizer_step`
steps at their ends). Under precision=16 `self.optimizers()` hands out `ScaledOptimizer`s,
so a step taken by hand goes through the loss scaler like an automatic one, and the scaler
updates once per batch, after all of its steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trainer_core.precision import ScaledOptimizer
from trainer_core.trainer.hooks import positional_arity, set_current_hook
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.step_outputs import EpochOutputs, detached_output

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class ManualOptimization:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def start_epoch(
        self, epoch: int, accumulate: int, outputs: EpochOutputs, store: ResultStore
    ) -> None:
        self.store = store
        trainer = self.trainer
        hooks = trainer._hooks
        assert hooks is not None
        self.outputs = outputs
        self.module = trainer.lightning_module
        self.training_step = trainer.strategy.training_step
        self.step_end = hooks.module_method("training_step_end")
        # the seed's manual GAN step takes (batch, batch_idx, optimizer_idx)
        self.pass_opt_idx = positional_arity(self.module.training_step) >= 3
        self.precision = trainer.strategy.precision_plugin
        self.scaled = [ScaledOptimizer(o, self.precision) for o in trainer.optimizers]
        trainer.stepping_optimizers = list(self.scaled) if self.precision.uses_scaler else []

    def batch_runner(self) -> Callable[[Any, int, bool], list[Any]]:
        """What trains one batch this epoch (the epoch loop calls it per batch)."""
        return self.run

    def run(self, batch: Any, batch_idx: int, stepping: bool) -> list[Any]:
        module, outputs = self.module, self.outputs
        set_current_hook(module, "training_step")
        out = (
            self.training_step(batch, batch_idx, 0)
            if self.pass_opt_idx
            else self.training_step(batch, batch_idx)
        )
        if self.step_end is not None:
            set_current_hook(module, "training_step_end")
            out = self.step_end(out)
        set_current_hook(module, None)
        if self.store.attached:  # the step's own backward calls are done
            self.store.detach_all_but(None)
        if self.precision.uses_scaler and any(o.stepped for o in self.scaled):
            self.precision.after_step()
            for optimizer in self.scaled:
                optimizer.stepped = False
        outputs.usable_losses += 1
        if outputs.gather:
            kept = detached_output(out, None)
            if kept is not None:
                return outputs.add_batch([(0, kept)])
        return []
