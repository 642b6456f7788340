"""Reading what `configure_optimizers` returned, in every Lightning 1.0 form, and stepping
learning-rate schedulers at their interval."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from trainer_core.exceptions import MisconfigurationException

_SCHEDULER_KEYS = {
    "scheduler",
    "interval",
    "frequency",
    "monitor",
    "strict",
    "name",
    "reduce_on_plateau",
    "opt_idx",
}


@dataclass
class SchedulerConfig:
    """One LR scheduler and when to step it."""

    scheduler: Any
    interval: str = "epoch"  # or "step": after every optimizer step
    frequency: int = 1
    monitor: str | None = None  # for ReduceLROnPlateau: the metric passed to step()
    strict: bool = True  # a missing monitor raises (else a warning and no step)
    name: str | None = None  # shown by LearningRateMonitor
    opt_idx: int = 0

    @property
    def reduce_on_plateau(self) -> bool:
        return isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    # Lightning 1.0 kept these as dicts, and its users index them:
    # `trainer.lr_schedulers[0]["scheduler"]`
    def __getitem__(self, key: str) -> Any:
        if key not in _SCHEDULER_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in _SCHEDULER_KEYS else default

    def keys(self) -> list[str]:
        return sorted(_SCHEDULER_KEYS)

    def __contains__(self, key: object) -> bool:
        return key in _SCHEDULER_KEYS

    def __eq__(self, other: object) -> bool:
        """Equal to the dict 1.0 would have built from the same configuration (a `name` only
        when one was given; `opt_idx` is trainer_core's own bookkeeping)."""
        if isinstance(other, SchedulerConfig):
            return self.as_dict() == other.as_dict() and self.opt_idx == other.opt_idx
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it stands for

    def as_dict(self) -> dict[str, Any]:
        config = {
            "scheduler": self.scheduler,
            "interval": self.interval,
            "frequency": self.frequency,
            "reduce_on_plateau": self.reduce_on_plateau,
            "monitor": self.monitor,
            "strict": self.strict,
        }
        if self.name is not None:
            config["name"] = self.name
        return config


@dataclass
class OptimizerSetup:
    optimizers: list[Optimizer]
    schedulers: list[SchedulerConfig]
    frequencies: list[int]  # empty: every optimizer on every batch


def parse_configure_optimizers(result: Any) -> OptimizerSetup:
    """Normalise the 1.0 return forms: an optimizer; a list of them; ([opts], [scheds]); a
    dict with 'optimizer' and 'lr_scheduler'; a list of such dicts (optionally with
    'frequency'); or None (a warning; training runs without an optimizer)."""
    if result is None:
        warnings.warn(
            "`configure_optimizers` returned None: this fit will run with no optimizer. Return an optimizer to train.",
            stacklevel=3,
        )
        return OptimizerSetup([], [], [])
    if isinstance(result, Optimizer):
        return OptimizerSetup([result], [], [])
    if isinstance(result, Mapping):
        return _from_dicts([result])
    if isinstance(result, Sequence) and not isinstance(result, str):
        items = list(result)
        if len(items) == 2 and isinstance(items[0], list | tuple):
            optimizers = _check_optimizers(items[0])
            scheds = items[1] if isinstance(items[1], list | tuple) else [items[1]]
            schedulers = [_scheduler_config(s, None) for s in scheds]
            return _finish(optimizers, schedulers, [])
        if items and all(isinstance(i, Mapping) for i in items):
            return _from_dicts(items)
        return _finish(_check_optimizers(items), [], [])
    raise MisconfigurationException(
        f"Unknown configuration for model optimizers: configure_optimizers returned "
        f"{type(result).__name__}. Return an optimizer, a list of optimizers, "
        "([optimizers], [schedulers]), or a dict {'optimizer': ..., 'lr_scheduler': ...}."
    )


def _check_optimizers(items: Sequence[Any]) -> list[Optimizer]:
    for item in items:
        if not isinstance(item, Optimizer):
            raise MisconfigurationException(
                f"configure_optimizers returned {type(item).__name__} where an optimizer was expected. "
                "For ([optimizers], [schedulers]) the first element must be a list."
            )
    return list(items)


def _from_dicts(dicts: list[Mapping[str, Any]]) -> OptimizerSetup:
    optimizers: list[Optimizer] = []
    schedulers: list[SchedulerConfig] = []
    frequencies: list[int] = []
    for d in dicts:
        if "optimizer" not in d:
            raise MisconfigurationException(
                f"A configure_optimizers dict needs an 'optimizer' key (got keys {sorted(d)})."
            )
        optimizers.extend(_check_optimizers([d["optimizer"]]))
        if d.get("lr_scheduler") is not None:
            schedulers.append(_scheduler_config(d["lr_scheduler"], d.get("monitor")))
        if "frequency" in d:
            frequencies.append(int(d["frequency"]))
    if frequencies and len(frequencies) != len(optimizers):
        raise MisconfigurationException(
            "Give 'frequency' for every optimizer dict or for none of them."
        )
    return _finish(optimizers, schedulers, frequencies)


def _scheduler_config(item: Any, monitor: str | None) -> SchedulerConfig:
    if isinstance(item, Mapping):
        if "scheduler" not in item:
            raise MisconfigurationException(
                'The lr scheduler dict must have the key "scheduler" with its value being an lr '
                f"scheduler (got keys {sorted(item)})."
            )
        unknown = set(item) - _SCHEDULER_KEYS
        if unknown:  # as in 1.0: ignored with a warning (a typo'd key does nothing)
            warnings.warn(
                f"Found unsupported keys in the lr scheduler dict: {sorted(unknown)}; "
                f"the keys read are {sorted(_SCHEDULER_KEYS)}.",
                RuntimeWarning,
                stacklevel=4,
            )
        config = SchedulerConfig(
            scheduler=item["scheduler"],
            interval=item.get("interval", "epoch"),
            frequency=int(item.get("frequency", 1)),
            monitor=item.get("monitor", monitor),
            strict=bool(item.get("strict", True)),
            name=item.get("name"),
        )
    else:
        config = SchedulerConfig(scheduler=item, monitor=monitor)
    if config.interval not in ("epoch", "step"):
        raise MisconfigurationException(
            f"lr_scheduler interval={config.interval!r}: use 'epoch' or 'step'."
        )
    if config.reduce_on_plateau and config.monitor is None:
        raise MisconfigurationException(
            "`configure_optimizers` must include a monitor when a `ReduceLROnPlateau` scheduler is "
            "used: return {'optimizer': opt, 'lr_scheduler': sched, 'monitor': 'val_loss'} (or put "
            "'monitor' in the scheduler dict)."
        )
    return config


def _finish(
    optimizers: list[Optimizer], schedulers: list[SchedulerConfig], frequencies: list[int]
) -> OptimizerSetup:
    for config in schedulers:
        owner = getattr(config.scheduler, "optimizer", None)
        for idx, opt in enumerate(optimizers):
            if opt is owner:
                config.opt_idx = idx
                break
        else:
            raise MisconfigurationException(
                "An lr scheduler wraps an optimizer that configure_optimizers did not return; return that optimizer too."
            )
    return OptimizerSetup(optimizers, schedulers, frequencies)


def step_scheduler(config: SchedulerConfig, metrics: Mapping[str, Any]) -> None:
    """Step one scheduler; ReduceLROnPlateau gets its monitored metric."""
    if not config.reduce_on_plateau:
        config.scheduler.step()
        return
    assert config.monitor is not None
    value = metrics.get(config.monitor)
    if value is None:
        message = (
            f"ReduceLROnPlateau conditioned on metric {config.monitor!r} which is not available"
        )
        if config.strict:
            raise MisconfigurationException(
                f"{message}. Available metrics are: {sorted(metrics)}. Log it with self.log, change "
                "'monitor', or set 'strict': False in the scheduler dict to skip the step instead."
            )
        warnings.warn(
            f"{message} but strict is set to False: skipping this step.",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    config.scheduler.step(float(value))


def step_epoch_schedulers(
    schedulers: list[SchedulerConfig], epoch: int, metrics: dict[str, Any]
) -> None:
    """Step the epoch-interval schedulers due at the end of `epoch` (0-based)."""
    for config in schedulers:
        if config.interval == "epoch" and (epoch + 1) % config.frequency == 0:
            step_scheduler(config, metrics)
