"""Warnings about a dataloader that fit and test are given (Lightning 1.0 prints the same two):
too few worker processes to keep up, and an `IterableDataset` that also has a length."""

from __future__ import annotations

import multiprocessing
import platform
from typing import Any

from torch.utils.data import DataLoader

from trainer_core.utilities.data import has_iterable_dataset
from trainer_core.utilities.distributed import rank_zero_warn


def check_loader(loader: Any, name: str, spawning: bool) -> None:
    """Warn about `loader` (called `name` in the message: "train dataloader", "val dataloader 0").

    Under ddp_spawn the worker count is the launcher's business, and Windows starts workers
    by spawning too, so the few-workers advice is only given elsewhere.
    """
    if not isinstance(loader, DataLoader):
        return
    if has_iterable_dataset(loader) and _has_length(loader):
        rank_zero_warn(
            "Your `IterableDataset` has `__len__` defined. In combination with multi-processing "
            "data loading (e.g. batch size > 1), this can lead to unintended side effects since "
            "the samples will be duplicated."
        )
    if spawning or platform.system() == "Windows":
        return
    cpus = multiprocessing.cpu_count()
    if loader.num_workers <= 2 and cpus > 2:
        rank_zero_warn(
            f"The dataloader, {name}, does not have many workers which may be a bottleneck. "
            f"Consider increasing the value of the `num_workers` argument (try {cpus} which is "
            "the number of cpus on this machine) in the `DataLoader` init to improve performance."
        )


def spawning(trainer: Any) -> bool:
    """The run starts its processes with ddp_spawn."""
    return getattr(trainer.strategy, "strategy_name", "") == "ddp_spawn"


def _has_length(loader: DataLoader) -> bool:
    try:
        len(loader)
    except (TypeError, NotImplementedError):
        return False
    return True
