"""The Trainer's default logger and callbacks, built from the 1.0 flags."""

from __future__ import annotations

import os
import warnings
from typing import Any

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.callbacks.progress import ProgressBar, ProgressBarBase
from trainer_core.exceptions import MisconfigurationException
from trainer_core.loggers.base import LightningLoggerBase, LoggerCollection
from trainer_core.loggers.tensorboard import TensorBoardLogger


def build_logger(logger: Any, default_root_dir: str) -> LightningLoggerBase | None:
    """The `logger` flag: True gives TensorBoard under default_root_dir/lightning_logs."""
    if logger is True:
        version = os.environ.get("PL_EXP_VERSION")
        return TensorBoardLogger(
            default_root_dir,
            name="lightning_logs",
            version=int(version) if version else None,
        )
    if logger in (False, None):
        return None
    if isinstance(logger, list | tuple):
        return LoggerCollection(logger) if len(logger) != 1 else logger[0]
    if isinstance(logger, LightningLoggerBase):
        return logger
    raise MisconfigurationException(
        f"logger={type(logger).__name__}: pass True, False, a LightningLoggerBase or a list of them."
    )


def build_callbacks(
    callbacks: Any, checkpoint_callback: Any, refresh_rate: int, process_position: int = 0
) -> list[Callback]:
    """User callbacks plus the defaults: a ModelCheckpoint (unless checkpoint_callback=False)
    and a ProgressBar (unless the refresh rate is 0), appended in Lightning 1.0's order. (The
    hooks run ModelCheckpoint after the others: see `HookTable`.)"""
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    result = list(callbacks or [])
    for cb in result:
        if not isinstance(cb, Callback):
            raise MisconfigurationException(
                f"callbacks contains {type(cb).__name__}, which is not a trainer_core Callback; subclass Callback."
            )
    if isinstance(checkpoint_callback, ModelCheckpoint):
        # the 1.0.0 way of passing one, deprecated from 1.0.x on (Lightning 1.0.8's warning)
        warnings.warn(
            "Passing a ModelCheckpoint instance to Trainer(checkpoint_callback=...) is deprecated "
            "and will no longer be supported in v1.3; pass it in callbacks=[...].",
            DeprecationWarning,
            stacklevel=4,
        )
        result.append(checkpoint_callback)
    elif checkpoint_callback is True:
        if not any(isinstance(cb, ModelCheckpoint) for cb in result):
            result.append(ModelCheckpoint())
    elif checkpoint_callback is False:
        if any(isinstance(cb, ModelCheckpoint) for cb in result):
            raise MisconfigurationException(
                "Trainer was configured with checkpoint_callback=False but found ModelCheckpoint in "
                "callbacks list; remove one of them."
            )
    else:
        raise MisconfigurationException(
            "checkpoint_callback must be True, False or a ModelCheckpoint."
        )
    if os.getenv("COLAB_GPU") and refresh_rate < 20:  # Colab's output cell chokes on it
        warnings.warn(
            "You have set progress_bar_refresh_rate < 20 on Google Colab. This may crash. "
            "Consider using progress_bar_refresh_rate >= 20 in Trainer.",
            UserWarning,
            stacklevel=4,
        )
    bars = [cb for cb in result if isinstance(cb, ProgressBarBase)]
    if len(bars) > 1:
        raise MisconfigurationException(
            "You added multiple progress bar callbacks to the Trainer, but only one progress bar "
            "is supported; keep one of them."
        )
    has_bar = bool(bars)
    if refresh_rate and refresh_rate > 0 and not has_bar:
        result.append(ProgressBar(refresh_rate=refresh_rate, process_position=process_position))
    return result
