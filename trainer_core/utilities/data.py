"""Lightning 1.0's `pytorch_lightning.utilities.data`: questions about a dataloader."""

from __future__ import annotations

from typing import Any

from torch.utils.data import IterableDataset

from trainer_core.utilities.distributed import rank_zero_warn


def has_iterable_dataset(dataloader: Any) -> bool:
    """The loader reads an `IterableDataset` (no indices, no sampler)."""
    return isinstance(getattr(dataloader, "dataset", None), IterableDataset)


def has_len(dataloader: Any) -> bool:
    """The loader knows how many batches it gives (False for an infinite or streaming one).

    A length of 0 is an error: no loop could run on it. An `IterableDataset` that also has a
    length is allowed but warned about, as each worker process replays the whole dataset.
    """
    try:
        length = len(dataloader)
    except (TypeError, NotImplementedError):  # torchtext's batch_size_fn raises the latter
        return False
    if length == 0:
        raise ValueError(
            "`Dataloader` returned 0 length. Please make sure that your Dataloader at least "
            "returns 1 batch"
        )
    if has_iterable_dataset(dataloader):
        rank_zero_warn(
            "Your `IterableDataset` has `__len__` defined. In combination with multi-processing "
            "data loading (e.g. batch size > 1), this can lead to unintended side effects since "
            "the samples will be duplicated."
        )
    return True
