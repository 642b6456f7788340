"""Lightning 1.0's module path of `LightningModule` (`pytorch_lightning.core.lightning`)."""

from trainer_core.core.module import LightningModule

__all__ = ["LightningModule"]
