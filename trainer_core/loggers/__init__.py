"""Loggers: `TensorBoardLogger` (the default), `CSVLogger`, the base classes, and Lightning
1.0's third-party loggers (Comet, MLflow, Neptune, Weights & Biases, test-tube), each usable
when its own package is installed."""

from trainer_core.loggers.base import LightningLoggerBase, LoggerCollection
from trainer_core.loggers.comet import CometLogger
from trainer_core.loggers.csv_logs import CSVLogger
from trainer_core.loggers.mlflow import MLFlowLogger
from trainer_core.loggers.neptune import NeptuneLogger
from trainer_core.loggers.tensorboard import TensorBoardLogger
from trainer_core.loggers.test_tube import TestTubeLogger
from trainer_core.loggers.wandb import WandbLogger

__all__ = [
    "CSVLogger",
    "CometLogger",
    "LightningLoggerBase",
    "LoggerCollection",
    "MLFlowLogger",
    "NeptuneLogger",
    "TensorBoardLogger",
    "TestTubeLogger",
    "WandbLogger",
]
