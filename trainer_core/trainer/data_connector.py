"""Where fit's loaders come from (arguments, datamodule, model), how many batches each gives, and
when validation runs within an epoch."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, cast

from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.module import LightningModule
from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.data import as_loader_list, limited_batches, without_shuffle
from trainer_core.trainer.data_loading import check_loader, spawning

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainerDataConnector:
    """Mixed into `Trainer`: resolves and sizes the fit loaders."""

    def _resolve_fit_loaders(
        self, model: LightningModule, train_loader: Any, val_loaders: Any, datamodule: Any
    ) -> None:
        trainer = cast("Trainer", self)
        trainer.train_dataloader = trainer._request_train_loader(model, train_loader, datamodule)
        if val_loaders is None:
            source = (
                datamodule
                if datamodule is not None and overrides_dm(datamodule, "val_dataloader")
                else model
            )
            # `model.val_dataloader = None` (or validation_step = None) switches validation off
            request = getattr(source, "val_dataloader", None)
            if callable(request) and overrides(model, "validation_step"):
                val_loaders = request()
        if trainer.overfit_batches > 0 and val_loaders is not None:
            # Lightning 1.0: overfitting validates on the (unshuffled) training batches
            val_loaders = [trainer.train_dataloader for _ in as_loader_list(val_loaders)]
        trainer.val_dataloaders = [
            trainer.strategy.process_dataloader(v, is_train=False)
            for v in as_loader_list(val_loaders)
        ]
        for idx, val_loader in enumerate(trainer.val_dataloaders):
            check_loader(val_loader, f"val dataloader {idx}", spawning(trainer))
        trainer.num_val_batches = [
            limited_batches(v, trainer.limit_val_batches, "limit_val_batches")
            for v in trainer.val_dataloaders
        ]
        trainer._train_loader_source = train_loader
        if (
            val_loaders is not None
            and not overrides(model, "validation_step")
            and trainer.limit_val_batches
        ):
            warnings.warn(
                "Validation dataloaders were given but the model has no validation_step; skipping validation.",
                stacklevel=3,
            )

    def _request_train_loader(
        self, model: LightningModule, train_loader: Any, datamodule: Any
    ) -> Any:
        trainer = cast("Trainer", self)
        if train_loader is None:
            source = (
                datamodule
                if datamodule is not None and overrides_dm(datamodule, "train_dataloader")
                else model
            )
            request = getattr(source, "train_dataloader", None)
            train_loader = request() if callable(request) else None
        if train_loader is None:
            raise MisconfigurationException(
                "No training data: implement train_dataloader() in the model or datamodule, or pass "
                "trainer.fit(model, train_dataloader=...)."
            )
        if trainer.overfit_batches > 0:
            train_loader = without_shuffle(train_loader)
        loader = trainer.strategy.process_dataloader(train_loader, is_train=True)
        check_loader(loader, "train dataloader", spawning(trainer))
        trainer.num_training_batches = limited_batches(
            loader, trainer.limit_train_batches, "limit_train_batches"
        )
        if isinstance(trainer.val_check_interval, int) and not isinstance(
            trainer.val_check_interval, bool
        ):
            trainer.val_check_batch = trainer.val_check_interval
            if trainer.val_check_batch > trainer.num_training_batches:
                raise MisconfigurationException(
                    f"val_check_interval={trainer.val_check_interval} is more than the {trainer.num_training_batches:g} training "
                    "batches per epoch; use a smaller int or a float fraction."
                )
        else:
            if math.isinf(trainer.num_training_batches):
                if trainer.val_check_interval != 1.0:
                    raise MisconfigurationException(
                        "When using an IterableDataset (a training dataloader without a length), "
                        "val_check_interval must be 1.0 or an int number of batches."
                    )
                trainer.val_check_batch = math.inf
            else:
                trainer.val_check_batch = max(
                    1, int(trainer.num_training_batches * trainer.val_check_interval)
                )
        return loader


def require_fit_methods(module: LightningModule) -> None:
    """`model.training_step = None` or `model.configure_optimizers = None` cannot fit (1.0
    refuses it before training starts)."""
    for name in ("training_step", "configure_optimizers"):
        if not callable(getattr(module, name, None)):
            raise MisconfigurationException(
                f"{type(module).__name__}.{name} is {getattr(module, name, None)!r}: fit needs "
                "training_step(), train_dataloader() and configure_optimizers()."
            )


def overrides(module: LightningModule, name: str) -> bool:
    """The module defines `name` itself (`model.validation_step = None` switches it off)."""
    if not callable(getattr(module, name, None)):
        return False
    return getattr(type(module), name) is not getattr(LightningModule, name) or (
        name in vars(module)
    )


def overrides_dm(datamodule: Any, name: str) -> bool:
    return getattr(type(datamodule), name, None) is not getattr(LightningDataModule, name)
