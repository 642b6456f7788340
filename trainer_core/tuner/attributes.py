"""Where a tunable hyperparameter lives: the model itself, its `hparams` (a dict or a
namespace), or the datamodule the trainer fits with. Lightning 1.0's `lightning_hasattr` /
`lightning_getattr` / `lightning_setattr` look in the same places, in the same order."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any


def _hparams(model: Any) -> Any:
    return getattr(model, "hparams", None)


def _datamodule(model: Any) -> Any:
    trainer = getattr(model, "trainer", None)
    return getattr(trainer, "datamodule", None) if trainer is not None else None


def _in_hparams(model: Any, name: str) -> bool:
    hparams = _hparams(model)
    if isinstance(hparams, MutableMapping):
        return name in hparams
    return hparams is not None and hasattr(hparams, name)


def lightning_hasattr(model: Any, name: str) -> bool:
    if hasattr(model, name) or _in_hparams(model, name):
        return True
    datamodule = _datamodule(model)
    return datamodule is not None and hasattr(datamodule, name)


def lightning_getattr(model: Any, name: str) -> Any:
    if hasattr(model, name):
        return getattr(model, name)
    if _in_hparams(model, name):
        hparams = _hparams(model)
        return hparams[name] if isinstance(hparams, MutableMapping) else getattr(hparams, name)
    datamodule = _datamodule(model)
    if datamodule is not None and hasattr(datamodule, name):
        return getattr(datamodule, name)
    raise ValueError(
        f"{name!r} is neither an attribute of the model, nor in model.hparams, nor an attribute "
        "of the datamodule."
    )


def lightning_setattr(model: Any, name: str, value: Any) -> None:
    """Set `name` where the model keeps it, and on the fitted datamodule too when it has one
    (its loaders are the ones the next fit builds)."""
    if not lightning_hasattr(model, name):
        lightning_getattr(model, name)  # raises with the places looked in
    if hasattr(model, name):
        setattr(model, name, value)
    elif _in_hparams(model, name):
        hparams = _hparams(model)
        if isinstance(hparams, MutableMapping):
            hparams[name] = value
        else:
            setattr(hparams, name, value)
    datamodule = _datamodule(model)
    if datamodule is not None and hasattr(datamodule, name):
        setattr(datamodule, name, value)
