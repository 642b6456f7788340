"""Loggers: `TensorBoardLogger` (the default), `CSVLogger`, and the base classes."""

from trainer_core.loggers.base import LightningLoggerBase, LoggerCollection
from trainer_core.loggers.csv_logs import CSVLogger
from trainer_core.loggers.tensorboard import TensorBoardLogger
from trainer_core.loggers.test_tube import TestTubeLogger

__all__ = [
    "CSVLogger",
    "LightningLoggerBase",
    "LoggerCollection",
    "TensorBoardLogger",
    "TestTubeLogger",
]
