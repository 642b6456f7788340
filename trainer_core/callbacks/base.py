"""`Callback`: the base class of every trainer_core callback, with all Lightning 1.0 hooks.

Every hook is a no-op here; override the ones you need. The Trainer calls a callback's hook
*before* the LightningModule's hook of the same name, and only calls hooks that a callback
class actually overrides (so unused hooks cost nothing per step).

State in checkpoints. A callback's checkpointed state is `state_dict()` merged with whatever
`on_save_checkpoint` returns; it is stored under `state_key` (a string, so checkpoints load
with `torch.load(weights_only=True)`). On resume, `load_state_dict(state)` and then
`on_load_checkpoint(trainer, pl_module, state)` receive it. Lightning 1.0's shorter signatures
(`on_save_checkpoint(trainer, pl_module)` and `on_load_checkpoint(state)`) are accepted too.

Hooks beyond Lightning 1.0 (stable; the Runyard worker relies on them):
- `on_checkpoint_saved(trainer, pl_module, filepath)`: called after a checkpoint file is
  completely written (by ModelCheckpoint or `trainer.save_checkpoint`), on global rank 0.
- `on_checkpoint_removed(trainer, pl_module, filepath)`: called after ModelCheckpoint deletes a
  file that fell out of its top-k.
- `on_exception(trainer, pl_module, exception)`: called when `fit`/`test` is about to re-raise
  an exception from user code; loggers are finalized with status "failed" right after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class Callback:
    """Override any of these hooks; each receives the trainer and the LightningModule."""

    @property
    def state_key(self) -> str:
        """The key of this callback's state in a checkpoint's "callbacks" dict."""
        return type(self).__qualname__

    # --- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain values (numbers, strings, tensors) to store in checkpoints."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def on_save_checkpoint(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        checkpoint: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Return extra state to store for this callback (merged into `state_dict()`).

        Lightning 1.0 calls it as `on_save_checkpoint(trainer, pl_module)`; the checkpoint
        being written comes third when the trainer calls it."""
        return None

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, callback_state: dict[str, Any]
    ) -> None:
        """Receive this callback's stored state when resuming."""

    def on_checkpoint_saved(
        self, trainer: Trainer, pl_module: LightningModule, filepath: str
    ) -> None:
        """A checkpoint file was completely written at `filepath`."""

    def on_checkpoint_removed(
        self, trainer: Trainer, pl_module: LightningModule, filepath: str
    ) -> None:
        """ModelCheckpoint deleted `filepath` (it fell out of the top-k)."""

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        """`fit`/`test` is about to re-raise `exception`."""

    # --- set-up and fit -----------------------------------------------------------------------
    def on_init_start(self, trainer: Trainer) -> None: ...
    def on_init_end(self, trainer: Trainer) -> None: ...
    def setup(
        self, trainer: Trainer, pl_module: LightningModule, stage: str | None = None
    ) -> None: ...
    def teardown(
        self, trainer: Trainer, pl_module: LightningModule, stage: str | None = None
    ) -> None: ...
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_pretrain_routine_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_pretrain_routine_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_sanity_check_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_sanity_check_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_keyboard_interrupt(self, trainer: Trainer, pl_module: LightningModule) -> None: ...

    # --- training -----------------------------------------------------------------------------
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_train_epoch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any = None
    ) -> None: ...
    def on_batch_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_batch_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_train_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...
    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...
    def on_after_backward(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_before_zero_grad(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: Any
    ) -> None: ...

    # --- validation ---------------------------------------------------------------------------
    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_validation_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...
    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...

    # --- test ---------------------------------------------------------------------------------
    def on_test_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None: ...
    def on_test_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...
    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None: ...
