"""Errors of the metrics package, inside trainer_core's one exception family.

`MetricInputError` is also a `ValueError`, so code written against Lightning 1.0 or torchmetrics
that catches `ValueError` around a metric call keeps working.
"""

from trainer_core.exceptions import TrainerCoreError


class MetricError(TrainerCoreError):
    """Base of every error the metrics package raises on purpose."""


class MetricInputError(MetricError, ValueError):
    """Inputs to `update` / a functional metric that cannot be scored; the message says why."""


class MetricDefinitionError(MetricError, ValueError):
    """A metric built wrongly (bad `add_state` default, unknown reduction or argument)."""


class MetricShapeError(MetricInputError, RuntimeError):
    """preds and target of different shapes; a `RuntimeError` too, as Lightning 1.0.8 raised."""
