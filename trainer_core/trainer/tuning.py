"""The Trainer's tuning entry points (Lightning 1.0): `trainer.tune(model)` runs what the
`auto_scale_batch_size` / `auto_lr_find` flags ask for, `trainer.tuner` gives the searches
themselves (see `trainer_core/tuner/`), and `setup(model, stage)` is the trainer's own hook,
a no-op that a Trainer subclass may override (called before the module's `setup`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.tuner import LRFinder, Tuner


class TrainerTuning:
    """Mixed into `Trainer`."""

    @property
    def tuner(self) -> Tuner:
        from trainer_core.tuner import Tuner  # the tuner package imports the Trainer's modules

        return Tuner(cast(Any, self))

    def tune(
        self,
        model: LightningModule,
        train_dataloader: Any = None,
        val_dataloaders: Any = None,
        datamodule: Any = None,
    ) -> None:
        """Scale the batch size and/or find the learning rate before `fit`, as the flags ask;
        the found values are written to the model (or its hparams / the datamodule)."""
        self.tuner.tune(model, train_dataloader, val_dataloaders, datamodule)

    def lr_find(self, model: LightningModule, *args: Any, **kwargs: Any) -> LRFinder:
        """`trainer.tuner.lr_find(model, ...)` (the 0.x name, still in 1.0 scripts)."""
        return self.tuner.lr_find(model, *args, **kwargs)

    def scale_batch_size(self, model: LightningModule, *args: Any, **kwargs: Any) -> int:
        return self.tuner.scale_batch_size(model, *args, **kwargs)

    def setup(self, model: LightningModule, stage: str) -> None:
        """Called at the start of fit ('fit') and test ('test'); override in a subclass."""
