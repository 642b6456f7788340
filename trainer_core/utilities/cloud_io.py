"""Lightning 1.0's `utilities.cloud_io`: reading and writing checkpoint files.

Local paths only (trainer_core has no fsspec dependency); `load` reads any checkpoint the
Trainer wrote, `atomic_save` writes through a temporary file so a reader never sees half a file.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def load(path_or_url: str, map_location: Any = None) -> Any:
    """`torch.load` of a local checkpoint (trainer_core checkpoints load with weights_only)."""
    return torch.load(os.fspath(path_or_url), map_location=map_location, weights_only=True)


def atomic_save(checkpoint: dict[str, Any], filepath: str) -> None:
    """Write `checkpoint` to `filepath` via a temporary file and a rename."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(filepath)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = f"{filepath}.part"
    torch.save(checkpoint, tmp)
    os.replace(tmp, filepath)
