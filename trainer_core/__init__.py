"""trainer_core: an embedded trainer whose API is PyTorch Lightning 1.0's. Imports torch only.

`import trainer_core as pl` gives what `import pytorch_lightning as pl` gave in 1.0:
`pl.LightningModule`, `pl.LightningDataModule`, `pl.Trainer`, `pl.Callback`,
`pl.seed_everything`, and the submodules `pl.callbacks`, `pl.loggers`, `pl.metrics`.
"""

from trainer_core import callbacks, loggers, metrics
from trainer_core.attribute_dict import AttributeDict
from trainer_core.callbacks.base import Callback
from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.module import LightningModule
from trainer_core.exceptions import MisconfigurationException, TrainerCoreError
from trainer_core.seed import seed_everything
from trainer_core.trainer.trainer import Trainer
from trainer_core.version import __version__

__all__ = [
    "AttributeDict",
    "Callback",
    "LightningDataModule",
    "LightningModule",
    "MisconfigurationException",
    "Trainer",
    "TrainerCoreError",
    "__version__",
    "callbacks",
    "loggers",
    "metrics",
    "seed_everything",
]
