"""Recognising metric objects by duck typing, so trainer_core.metrics and torchmetrics both work."""

from typing import Any

import torch


def is_metric_object(value: Any) -> bool:
    """A trainer_core/torchmetrics Metric: an nn.Module with callable `compute` and `reset`."""
    return (
        isinstance(value, torch.nn.Module)
        and callable(getattr(value, "compute", None))
        and callable(getattr(value, "reset", None))
    )
