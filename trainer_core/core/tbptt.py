"""Cutting a batch of sequences into time windows for truncated backpropagation through time
(`Trainer(truncated_bptt_steps=n)`, Lightning 1.0): each window goes to training_step in turn,
with the hidden state the previous window returned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trainer_core.exceptions import MisconfigurationException


def split_batch(batch: Any, split_size: int) -> list[list[Any]]:
    """Windows of `split_size` steps along the time dimension: dimension 1 of tensors, the
    items of each sample's sequence in lists; other batch members are repeated as they are."""
    members = list(batch) if isinstance(batch, list | tuple) else [batch]
    lengths = {n for n in (_time_steps(x) for x in members) if n is not None}
    if len(lengths) != 1:
        raise MisconfigurationException(
            f"truncated_bptt_steps: cannot tell the batch's time dimension (lengths {sorted(lengths)}); "
            "give tensors shaped (batch, time, ...) or override tbptt_split_batch(batch, split_size)."
        )
    (steps,) = lengths
    return [
        [_window(x, start, split_size) for x in members] for start in range(0, steps, split_size)
    ]


def _time_steps(x: Any) -> int | None:
    if isinstance(x, torch.Tensor):
        return int(x.shape[1]) if x.dim() > 1 else None
    if isinstance(x, Sequence) and not isinstance(x, str) and x and isinstance(x[0], Sequence):
        return len(x[0])
    return None


def _window(x: Any, start: int, size: int) -> Any:
    if isinstance(x, torch.Tensor):
        return x[:, start : start + size] if x.dim() > 1 else x
    if _time_steps(x) is not None:
        return [row[start : start + size] for row in x]
    return x
