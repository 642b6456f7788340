"""Metrics API (Lightning 1.0's `pl.metrics`): the `Metric` base and ready metrics.

`from trainer_core.metrics import Metric, Accuracy`; functional twins live in
`trainer_core.metrics.functional`.
"""

from trainer_core.metrics import functional
from trainer_core.metrics.accuracy import Accuracy
from trainer_core.metrics.errors import MetricDefinitionError, MetricError, MetricInputError
from trainer_core.metrics.metric import Metric

__all__ = [
    "Accuracy",
    "Metric",
    "MetricDefinitionError",
    "MetricError",
    "MetricInputError",
    "functional",
]
