"""Lightning 1.0's `pytorch_lightning.utilities.model_utils.is_overridden`."""

from __future__ import annotations

from typing import Any

from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.module import LightningModule


def is_overridden(method_name: str, model: Any) -> bool:
    """`model` (a LightningModule or LightningDataModule) brings its own `method_name`.

    An attribute set to None on the instance (`model.val_dataloader = None`) counts as not
    overridden, a function assigned on the instance as overridden, and a name the base class
    does not have (a deprecated hook) as not overridden.
    """
    base = LightningDataModule if isinstance(model, LightningDataModule) else LightningModule
    if not hasattr(base, method_name):
        return False
    attr = getattr(model, method_name, None)
    if not attr:
        return False
    base_code = getattr(getattr(base, method_name), "__code__", None)
    code = getattr(getattr(attr, "__func__", attr), "__code__", None)
    return code is not base_code
