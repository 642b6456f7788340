"""The largest batch size that trains without running out of memory: short trial fits at
growing batch sizes. 'power' doubles until a trial runs out of memory and keeps the last size
that fit; 'binsearch' doubles the same way, then bisects between the last size that fit and the
first that did not. Lightning 1.0's `trainer.tuner.scale_batch_size`."""

from __future__ import annotations

import gc
import warnings
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.tuner.attributes import lightning_getattr, lightning_hasattr, lightning_setattr
from trainer_core.tuner.trials import reset_for_trial, trial_fits

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer

MODES = ("power", "binsearch")
_OOM_MESSAGES = (
    "CUDA out of memory",
    "CUDA error: out of memory",
    "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED",  # cuDNN's way of saying the batch is too large
    "DefaultCPUAllocator: can't allocate memory",
)


def is_oom_error(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _OOM_MESSAGES)


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _check_batch_field(model: Any, name: str) -> None:
    if not lightning_hasattr(model, name):
        raise MisconfigurationException(
            f"scale_batch_size: the batch size field {name!r} is neither an attribute of the "
            "model, nor in model.hparams, nor on the datamodule; add it or pass batch_arg_name."
        )
    hparams = getattr(model, "hparams", None)
    in_hparams = hparams is not None and (
        name in hparams if isinstance(hparams, dict) else hasattr(hparams, name)
    )
    if hasattr(model, name) and in_hparams:
        warnings.warn(
            f"Field `model.{name}` and `model.hparams.{name}` are mutually exclusive! "
            f"`model.{name}` will be used as the initial batch size for scaling. If this is not "
            "the intended behavior, please remove either one.",
            UserWarning,
            stacklevel=3,
        )


def _dataset_size(trainer: Trainer) -> int | None:
    dataset = getattr(trainer.train_dataloader, "dataset", None)
    try:
        return len(dataset) if dataset is not None else None  # type: ignore[arg-type]
    except TypeError:  # an IterableDataset without a length
        return None


def _set_size(trainer: Trainer, model: Any, name: str, size: int) -> tuple[int, bool]:
    """Set the batch size (never beyond the dataset); return it and whether it changed."""
    limit = _dataset_size(trainer)
    if limit is not None:
        size = min(size, limit)
    size = max(1, size)
    changed = size != lightning_getattr(model, name)
    lightning_setattr(model, name, size)
    return size, changed


def _fits(trainer: Trainer, model: Any, fit_kwargs: dict[str, Any]) -> bool:
    """True when a trial fit at the current batch size ran; False when it ran out of memory."""
    _free_memory()
    reset_for_trial(trainer)
    try:
        trainer.fit(model, **fit_kwargs)
    except RuntimeError as exc:
        if not is_oom_error(exc):
            raise
        _free_memory()
        return False
    return True


def scale_batch_size(
    trainer: Trainer,
    model: LightningModule,
    mode: str = "power",
    steps_per_trial: int = 3,
    init_val: int = 2,
    max_trials: int = 25,
    batch_arg_name: str = "batch_size",
    **fit_kwargs: Any,
) -> int:
    """Find the batch size, set it where the model keeps it (and on the datamodule), return it.

    The model's weights and the trainer are left as they were before the trials.
    """
    if mode not in MODES:
        raise MisconfigurationException(
            f"scale_batch_size(mode={mode!r}): use 'power' or 'binsearch'."
        )
    if fit_kwargs.get("train_dataloader") is not None:
        raise MisconfigurationException(
            "Batch size scaling cannot change the batch size of a DataLoader passed to fit() or "
            "tune(); build the loader in the model's (or a datamodule's) train_dataloader from "
            f"its {batch_arg_name!r} field instead."
        )
    fit_kwargs = {k: v for k, v in fit_kwargs.items() if k != "train_dataloader"}
    datamodule = fit_kwargs.get("datamodule")
    if datamodule is not None:
        trainer.datamodule = datamodule  # the field may live on it (and the trials use it)
    model.trainer = trainer
    _check_batch_field(model, batch_arg_name)
    with trial_fits(trainer, model, max_steps=steps_per_trial):
        trainer.limit_train_batches = 1.0
        if datamodule is not None:
            trainer.datamodule = datamodule
        lightning_setattr(model, batch_arg_name, init_val)
        size = init_val
        if mode == "power":
            size = _power(trainer, model, batch_arg_name, max_trials, fit_kwargs)
        else:
            size = _binsearch(trainer, model, batch_arg_name, max_trials, fit_kwargs)
    _free_memory()
    lightning_setattr(model, batch_arg_name, size)
    return size


def _power(
    trainer: Trainer, model: Any, name: str, max_trials: int, fit_kwargs: dict[str, Any]
) -> int:
    size = lightning_getattr(model, name)
    for _ in range(max_trials):
        if not _fits(trainer, model, fit_kwargs):
            size, _ = _set_size(trainer, model, name, size // 2)
            break
        size, changed = _set_size(trainer, model, name, size * 2)
        if not changed:
            break
    return int(size)


def _binsearch(
    trainer: Trainer, model: Any, name: str, max_trials: int, fit_kwargs: dict[str, Any]
) -> int:
    size = lightning_getattr(model, name)
    low, high = 1, None  # largest size that fit, smallest that did not
    for _ in range(max_trials):
        if _fits(trainer, model, fit_kwargs):
            low = size
            target = size * 2 if high is None else (low + high) // 2
            if high is not None and high - low <= 1:
                break
            size, changed = _set_size(trainer, model, name, target)
            if not changed:
                break
        else:
            high = size
            size, _ = _set_size(trainer, model, name, (low + high) // 2)
            if high - low <= 1:
                break
    return int(size)
