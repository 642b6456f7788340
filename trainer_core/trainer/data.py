"""Dataloader bookkeeping: where loaders come from and how many batches each loop takes."""

from __future__ import annotations

import math
import warnings
from typing import Any

from trainer_core.exceptions import MisconfigurationException


def as_loader_list(loaders: Any) -> list[Any]:
    if loaders is None:
        return []
    if isinstance(loaders, list | tuple):
        return [loader for loader in loaders if loader is not None]
    return [loaders]


def loader_length(loader: Any) -> float:
    """len(loader), or infinity for iterables without a length."""
    try:
        return float(len(loader))
    except (TypeError, NotImplementedError):
        return math.inf


def limited_batches(loader: Any, limit: int | float, flag: str) -> float:
    """How many batches a loop takes: `1.0` (float) means all, `1` (int) means one batch."""
    total = loader_length(loader)
    if total == 0:  # as 1.0's has_len: a loader without batches is a mistake, not a no-op
        raise ValueError(
            "`Dataloader` returned 0 length. Please make sure that your Dataloader at least "
            "returns 1 batch"
        )
    if isinstance(limit, bool):
        raise MisconfigurationException(
            f"{flag}={limit!r}: use a float fraction in [0, 1] or an int count."
        )
    if isinstance(limit, float) and limit > 1.0 and limit.is_integer():
        return min(total, limit)  # a whole float is a count, as in 1.0 (1e50: all batches)
    if isinstance(limit, float):
        if not 0.0 <= limit <= 1.0:
            raise MisconfigurationException(
                f"{flag}={limit}: a float must be a fraction in [0.0, 1.0]; use an int for a count."
            )
        if limit == 1.0:
            return total
        if limit == 0.0:  # off, whether or not the loader has a length
            return 0.0
        if math.isinf(total):
            raise MisconfigurationException(
                f"When using an IterableDataset (a dataloader without a length), {flag}={limit} "
                "cannot be a fraction: use 0.0, 1.0 or an int number of batches."
            )
        return float(int(total * limit))
    if isinstance(limit, int):
        if limit < 0:
            raise MisconfigurationException(f"{flag}={limit}: use a count >= 0.")
        return float(min(total, limit))
    raise MisconfigurationException(f"{flag}={limit!r}: use a float fraction or an int count.")


def iterate_with_last(loader: Any, max_batches: float):  # type: ignore[no-untyped-def]
    """Yield (batch_idx, batch, is_last) for at most `max_batches` batches.

    `is_last` needs one batch of look-ahead, because iterables may not know their length.
    """
    if max_batches <= 0:
        return
    iterator = iter(loader)
    try:
        current = next(iterator)
    except StopIteration:
        return
    idx = 0
    while True:
        if idx + 1 >= max_batches:
            yield idx, current, True
            return
        try:
            following = next(iterator)
        except StopIteration:
            yield idx, current, True
            return
        yield idx, current, False
        current = following
        idx += 1


def without_shuffle(loader: Any) -> Any:
    """The same DataLoader reading its dataset in order (what `overfit_batches` trains on);
    other loaders are returned as they are."""
    from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

    if not isinstance(loader, DataLoader) or not isinstance(loader.sampler, RandomSampler):
        return loader
    warnings.warn(
        "You requested to overfit but enabled training dataloader shuffling; trainer_core turns "
        "shuffling off for overfit_batches.",
        UserWarning,
        stacklevel=4,
    )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=SequentialSampler(loader.dataset),  # type: ignore[arg-type]
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        worker_init_fn=loader.worker_init_fn,
    )
