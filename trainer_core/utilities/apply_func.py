"""Lightning 1.0's `utilities.apply_func`: applying a function inside nested collections and
moving nested batches between devices."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch


def move_data_to_device(batch: Any, device: torch.device) -> Any:
    """Recursively move tensors (and objects with `.to`) inside lists, tuples and dicts."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, list):
        return [move_data_to_device(b, device) for b in batch]
    if isinstance(batch, tuple):
        moved = [move_data_to_device(b, device) for b in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else tuple(moved)
    if isinstance(batch, Mapping):
        return {k: move_data_to_device(v, device) for k, v in batch.items()}
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    return batch


def apply_to_collection(
    data: Any,
    dtype: type | tuple[type, ...],
    function: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """`function(element, *args, **kwargs)` for every element of type `dtype` inside `data`
    (dicts, lists, tuples and named tuples, nested); the containers keep their types and
    everything else (strings included) is returned as it is."""
    if isinstance(data, dtype):
        return function(data, *args, **kwargs)
    container: Any = type(data)  # dict, list and tuple subclasses rebuild from their items
    if isinstance(data, Mapping):
        return container(
            {k: apply_to_collection(v, dtype, function, *args, **kwargs) for k, v in data.items()}
        )
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a named tuple
        return container(*(apply_to_collection(d, dtype, function, *args, **kwargs) for d in data))
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return container([apply_to_collection(d, dtype, function, *args, **kwargs) for d in data])
    return data
