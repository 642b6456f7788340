"""Metrics API (Lightning 1.0's `pl.metrics`): the `Metric` base and ready metrics.

`from trainer_core.metrics import Metric, Accuracy`; functional twins live in
`trainer_core.metrics.functional`.
"""

from trainer_core.metrics import functional
from trainer_core.metrics.accuracy import Accuracy
from trainer_core.metrics.auroc import AUROC
from trainer_core.metrics.confusion_matrix import ConfusionMatrix
from trainer_core.metrics.errors import MetricDefinitionError, MetricError, MetricInputError
from trainer_core.metrics.metric import Metric
from trainer_core.metrics.precision_recall import F1, FBeta, Precision, Recall
from trainer_core.metrics.regression import (
    ExplainedVariance,
    MeanAbsoluteError,
    MeanSquaredError,
    MeanSquaredLogError,
)

Fbeta = FBeta  # the name Lightning 1.0.0 shipped before 1.0.8 renamed it

__all__ = [
    "AUROC",
    "F1",
    "Accuracy",
    "ConfusionMatrix",
    "ExplainedVariance",
    "FBeta",
    "Fbeta",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "MeanSquaredLogError",
    "Metric",
    "MetricDefinitionError",
    "MetricError",
    "MetricInputError",
    "Precision",
    "Recall",
    "functional",
]
