"""Functional metrics: one batch in, one value out; the classes accumulate the same helpers."""

from trainer_core.metrics.functional.accuracy import accuracy
from trainer_core.metrics.functional.auroc import auroc
from trainer_core.metrics.functional.classification import auc
from trainer_core.metrics.functional.confusion_matrix import confusion_matrix
from trainer_core.metrics.functional.precision_recall import f1, fbeta, precision, recall
from trainer_core.metrics.functional.regression import (
    explained_variance,
    mean_absolute_error,
    mean_squared_error,
    mean_squared_log_error,
)

__all__ = [
    "accuracy",
    "auc",
    "auroc",
    "confusion_matrix",
    "explained_variance",
    "f1",
    "fbeta",
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "precision",
    "recall",
]
