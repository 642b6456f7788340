"""Giving each rank its own share of the data: the DistributedSampler the trainer inserts.

With `replace_sampler_ddp=True` (the default) a DataLoader over a map-style dataset is rebuilt
with a `DistributedSampler`: shuffled for training when the user's loader shuffled, in order
for validation and test. Loaders that already use a DistributedSampler, iterable datasets and
custom batch samplers are left alone (they decide their own split).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
)


class EpochAwareDistributedSampler(DistributedSampler):  # type: ignore[type-arg]
    """A DistributedSampler that reads the epoch itself, so shuffles differ every epoch
    without the loop having to call `set_epoch`."""

    def __init__(
        self,
        dataset: Dataset[Any],
        num_replicas: int,
        rank: int,
        shuffle: bool,
        seed: int,
        epoch_source: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.epoch_source = epoch_source

    def __iter__(self) -> Iterator[int]:
        if self.epoch_source is not None:
            self.set_epoch(self.epoch_source())
        return super().__iter__()


def with_distributed_sampler(
    loader: Any,
    *,
    num_replicas: int,
    rank: int,
    is_train: bool,
    epoch_source: Callable[[], int] | None = None,
) -> Any:
    """`loader` rebuilt to read only this rank's share, or `loader` itself when it cannot be."""
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        return loader
    if isinstance(loader.sampler, DistributedSampler):
        return loader  # the user split the data already
    if loader.batch_sampler is not None and type(loader.batch_sampler) is not BatchSampler:
        warnings.warn(
            f"The DataLoader uses a custom batch sampler ({type(loader.batch_sampler).__name__}); trainer_core "
            "cannot split it across ranks, so every rank reads all of it. Make it rank-aware, or pass "
            "Trainer(replace_sampler_ddp=False) to silence this.",
            stacklevel=3,
        )
        return loader
    shuffle = is_train and isinstance(loader.sampler, RandomSampler)
    sampler = EpochAwareDistributedSampler(
        loader.dataset,
        num_replicas=num_replicas,
        rank=rank,
        shuffle=shuffle,
        # every rank must draw the same permutation; seed_everything exports this variable
        seed=int(os.environ.get("PL_GLOBAL_SEED", 0)),
        epoch_source=epoch_source,
    )
    extra: dict[str, Any] = {}
    if loader.num_workers > 0:
        extra["prefetch_factor"] = loader.prefetch_factor
        extra["persistent_workers"] = loader.persistent_workers
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        **extra,
    )
