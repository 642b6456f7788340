"""Lightning 1.0's `utilities.cloud_io`: reading and writing checkpoint files.

`load` reads any checkpoint the Trainer wrote from a local path or an `http(s)://` URL (read
into memory, as 1.0 reads URLs); `atomic_save` writes through a temporary file so a reader
never sees half a file. No fsspec dependency: other remote schemes are refused by name.
"""

from __future__ import annotations

import io
import os
import urllib.request
from typing import IO, Any

import torch

_URL_SCHEMES = ("http://", "https://")


def is_url(path: Any) -> bool:
    return isinstance(path, str) and path.startswith(_URL_SCHEMES)


def open_binary(path_or_url: Any) -> IO[bytes]:
    """A readable binary file for a local path or an http(s) URL."""
    if is_url(path_or_url):
        with urllib.request.urlopen(path_or_url) as response:
            return io.BytesIO(response.read())
    path = os.fspath(path_or_url)
    if "://" in path:
        raise ValueError(
            f"{path}: only local paths and http(s):// URLs can be read; copy the file locally first."
        )
    return open(path, "rb")


def load(path_or_url: Any, map_location: Any = None) -> Any:
    """`torch.load` of a checkpoint at a local path or an http(s) URL (trainer_core
    checkpoints load with weights_only)."""
    with open_binary(path_or_url) as fh:
        return torch.load(fh, map_location=map_location, weights_only=True)


def atomic_save(checkpoint: dict[str, Any], filepath: str) -> None:
    """Write `checkpoint` to `filepath` via a temporary file and a rename."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(filepath)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = f"{filepath}.part"
    torch.save(checkpoint, tmp)
    os.replace(tmp, filepath)
