"""Trainer flags: refusing unknown ones (naming the closest known flag), flags trainer_core
accepts only at their default, and range checks whose messages say what to pass instead."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from trainer_core.exceptions import MisconfigurationException


class UnknownFlagError(MisconfigurationException, TypeError):
    """An unknown Trainer keyword: a TypeError as Python raises it (Lightning 1.0 users match
    its text), and a MisconfigurationException that names the closest known flag."""


# Lightning 1.0 flags that trainer_core accepts only at their default value, with the reason.
UNSUPPORTED_FLAGS: dict[str, tuple[Any, str]] = {
    "tpu_cores": (None, "TPUs are not supported; use gpus=1 or the CPU"),
    "auto_select_gpus": (False, "pick the GPU with gpus=[id] instead"),
    "log_gpu_memory": (None, "GPU memory logging is not implemented"),
    "sync_batchnorm": (False, "needs a distributed strategy, which trainer_core does not have yet"),
    "plugins": (None, "plugins are not supported"),
}


def refuse_unknown_flags(unknown: Mapping[str, Any], known: list[str], owner: str) -> None:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise UnknownFlagError(
        f"{owner}.__init__() got an unexpected keyword argument {hints[0]}"
        + (f"; unknown as well: {', '.join(hints[1:])}" if hints[1:] else "")
        + ". See the Lightning 1.0 Trainer flags in the trainer_core README section."
    )


class TrainerFlagGuard:
    """Mixed into `Trainer`, last: refuses unknown keywords before `__init__` runs, naming the
    closest flag. It lives in `__new__` so that `Trainer.__init__`'s signature lists exactly
    the flags (argparse and `get_init_arguments_and_types` read it, as in Lightning 1.0); an
    `__init__` that takes `**kwargs` (a subclass passing them on) is left to Python's check."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            params = inspect.signature(cls.__init__).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                unknown = {k: v for k, v in kwargs.items() if k not in params}
                if unknown:
                    known = [name for name in params if name != "self"]
                    refuse_unknown_flags(unknown, known, cls.__name__)
        return super().__new__(cls)


def validate_flags(flags: Mapping[str, Any]) -> None:
    """Check the Trainer's constructor arguments (`flags` is its `locals()`)."""
    for flag, (default, reason) in UNSUPPORTED_FLAGS.items():
        if flags[flag] != default:
            raise MisconfigurationException(
                f"Trainer({flag}={flags[flag]!r}) is not supported: {reason}."
            )
    if flags["auto_scale_batch_size"] not in (False, True, "power", "binsearch"):
        raise MisconfigurationException(
            f"auto_scale_batch_size={flags['auto_scale_batch_size']!r}: use True (same as "
            "'power'), 'power', 'binsearch' or False."
        )
    norm = flags["track_grad_norm"]
    if norm not in (-1, "-1") and not (
        norm == "inf" or (isinstance(norm, int | float) and not isinstance(norm, bool) and norm > 0)
    ):
        raise MisconfigurationException(
            f"track_grad_norm={norm!r}: use -1 (off), a positive p-norm order, or 'inf'."
        )
    for name in BATCH_LIMIT_FLAGS:
        check_batch_limit(name, flags[name])
    overfit = flags["overfit_batches"]
    if isinstance(overfit, bool) or not isinstance(overfit, int | float) or overfit < 0:
        raise MisconfigurationException(
            f"overfit_batches={overfit!r}: use 0 (off), a batch count or a fraction in (0, 1]."
        )
    if flags["amp_backend"] != "native":
        raise MisconfigurationException(
            "amp_backend='apex' is not supported; use the default 'native'."
        )
    _check_int("max_epochs", flags["max_epochs"], low=0)
    _check_int("min_epochs", flags["min_epochs"], low=0)
    _check_int("check_val_every_n_epoch", flags["check_val_every_n_epoch"], low=1)
    _check_int("log_every_n_steps", flags["log_every_n_steps"], low=1)
    if flags["max_steps"] is not None:
        _check_int("max_steps", flags["max_steps"], low=0)
    if flags["truncated_bptt_steps"] is not None:
        _check_int("truncated_bptt_steps", flags["truncated_bptt_steps"], low=1)
    _check_accumulation(flags["accumulate_grad_batches"])
    clip = flags["gradient_clip_val"]
    if clip is None or clip < 0:
        raise MisconfigurationException(
            f"gradient_clip_val={clip!r}: use 0 (off) or a positive norm."
        )
    if flags["num_sanity_val_steps"] < -1:
        raise MisconfigurationException(
            "num_sanity_val_steps must be -1 (all), 0 (none) or a count."
        )
    interval = flags["val_check_interval"]
    if isinstance(interval, float) and not 0.0 < interval <= 1.0:
        raise MisconfigurationException(
            f"val_check_interval={interval}: a float is a fraction of the epoch in (0, 1]; use an int for a batch count."
        )
    if flags["weights_summary"] not in (None, "top", "full"):
        raise MisconfigurationException(
            f"weights_summary={flags['weights_summary']!r}: use 'top', 'full' or None."
        )


BATCH_LIMIT_FLAGS = (
    "limit_train_batches",
    "limit_val_batches",
    "limit_test_batches",
    "val_check_interval",
    "overfit_batches",
)


def check_batch_limit(name: str, value: Any) -> None:
    """Lightning 1.0's rule, checked when the Trainer is built: a fraction in [0.0, 1.0] or a
    whole number of batches (a float such as 1e50 counts as that many batches)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not (0 <= value <= 1 or (value > 1 and float(value).is_integer())):
        raise MisconfigurationException(
            f"You have passed invalid value {value} for {name}, it has to be in [0.0, 1.0] or "
            "an int."
        )


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise MisconfigurationException(f"{name}={value!r}: use an int >= {low}.")


def _check_accumulation(schedule: Any) -> None:
    """`accumulate_grad_batches`: an int, or {first epoch: factor}; the exception types are
    1.0's (TypeError for the wrong kind, IndexError for an epoch before 0)."""
    if not isinstance(schedule, dict):
        if isinstance(schedule, bool) or not isinstance(schedule, int):
            raise TypeError(
                f"accumulate_grad_batches={schedule!r}: use an int or a dict "
                "{first epoch: accumulation factor}."
            )
        _check_int("accumulate_grad_batches", schedule, low=1)
        return
    if not schedule:
        raise TypeError("accumulate_grad_batches={}: give at least one {epoch: factor} entry.")
    for epoch, factor in schedule.items():
        if not isinstance(epoch, int) or not isinstance(factor, int):
            raise TypeError(
                f"accumulate_grad_batches: epochs and factors must be ints, got {epoch!r}: {factor!r}."
            )
    first = min(schedule)
    if first < 0:
        raise IndexError(f"accumulate_grad_batches: epochs count from 0, got epoch {first}.")
