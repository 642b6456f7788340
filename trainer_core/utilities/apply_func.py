"""Lightning 1.0's `utilities.apply_func`: moving nested batches between devices."""

from __future__ import annotations

from collections.abc import Mapping
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
