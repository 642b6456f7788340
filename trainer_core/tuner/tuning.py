"""`Tuner`: what `trainer.tune(model)` runs (batch-size scaling, then the learning-rate finder,
as the trainer's `auto_scale_batch_size` / `auto_lr_find` flags ask), and the two searches
called directly as `trainer.tuner.scale_batch_size(...)` / `trainer.tuner.lr_find(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainer_core.exceptions import MisconfigurationException
from trainer_core.tuner.attributes import lightning_hasattr, lightning_setattr
from trainer_core.tuner.batch_size_scaling import scale_batch_size
from trainer_core.tuner.lr_finder import LRFinder, lr_find

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class Tuner:
    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def tune(
        self,
        model: LightningModule,
        train_dataloader: Any = None,
        val_dataloaders: Any = None,
        datamodule: Any = None,
    ) -> None:
        trainer = self.trainer
        scale = trainer.auto_scale_batch_size
        if scale:
            if train_dataloader is not None:
                raise MisconfigurationException(
                    "auto_scale_batch_size cannot change the batch size of a DataLoader passed to "
                    "tune(); build the loader in the model's or a datamodule's train_dataloader."
                )
            self.scale_batch_size(
                model,
                mode="power" if scale is True else str(scale),
                val_dataloaders=val_dataloaders,
                datamodule=datamodule,
            )
        if trainer.auto_lr_find:
            finder = self.lr_find(model, train_dataloader, val_dataloaders, datamodule=datamodule)
            _apply_learning_rate(model, trainer.auto_lr_find, finder.suggestion())
        if datamodule is not None:
            # as after fit: the trainer knows the datamodule it was tuned with
            trainer.datamodule = datamodule
            datamodule.trainer = trainer
        model.trainer = trainer

    def scale_batch_size(
        self,
        model: LightningModule,
        mode: str = "power",
        steps_per_trial: int = 3,
        init_val: int = 2,
        max_trials: int = 25,
        batch_arg_name: str = "batch_size",
        **fit_kwargs: Any,
    ) -> int:
        return scale_batch_size(
            self.trainer,
            model,
            mode,
            steps_per_trial,
            init_val,
            max_trials,
            batch_arg_name,
            **fit_kwargs,
        )

    def lr_find(
        self,
        model: LightningModule,
        train_dataloader: Any = None,
        val_dataloaders: Any = None,
        min_lr: float = 1e-8,
        max_lr: float = 1.0,
        num_training: int = 100,
        mode: str = "exponential",
        early_stop_threshold: float | None = 4.0,
        datamodule: Any = None,
    ) -> LRFinder:
        return lr_find(
            self.trainer,
            model,
            train_dataloader,
            val_dataloaders,
            min_lr,
            max_lr,
            num_training,
            mode,
            early_stop_threshold,
            datamodule,
        )


def _apply_learning_rate(model: Any, flag: bool | str, lr: float | None) -> None:
    if lr is None:
        return  # the finder warned: too few points to suggest anything
    if isinstance(flag, str):
        if not lightning_hasattr(model, flag):
            raise MisconfigurationException(
                f"auto_lr_find={flag!r}, but neither the model nor model.hparams has a field "
                f"{flag!r} to write the learning rate to."
            )
        lightning_setattr(model, flag, lr)
        return
    for name in ("lr", "learning_rate"):
        if lightning_hasattr(model, name):
            lightning_setattr(model, name, lr)
            return
    raise MisconfigurationException(
        "auto_lr_find=True writes the found learning rate to `lr` or `learning_rate` on the model "
        "or in model.hparams, and the model has neither; add one (and read it in "
        "configure_optimizers) or pass auto_lr_find='<field name>'."
    )
