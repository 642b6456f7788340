"""Callbacks: the `Callback` base and the stock ones."""

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.early_stopping import EarlyStopping
from trainer_core.callbacks.gpu_stats import GPUStatsMonitor
from trainer_core.callbacks.lr_monitor import LearningRateMonitor
from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.callbacks.preemption import PreemptionHandler
from trainer_core.callbacks.progress import ProgressBar, ProgressBarBase

__all__ = [
    "Callback",
    "EarlyStopping",
    "GPUStatsMonitor",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "PreemptionHandler",
    "ProgressBar",
    "ProgressBarBase",
]
