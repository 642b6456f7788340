"""Lightning 1.0's `pytorch_lightning.metrics.classification` path."""

from trainer_core.metrics import Accuracy

__all__ = ["Accuracy"]
