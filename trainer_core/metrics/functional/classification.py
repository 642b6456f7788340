"""Lightning 1.0's `metrics.functional.classification`: the classification functions under the
module path 1.0 code imports them from, and `auc`."""

from __future__ import annotations

import warnings

import torch

from trainer_core.metrics.functional.accuracy import accuracy
from trainer_core.metrics.functional.auroc import auroc
from trainer_core.metrics.functional.confusion_matrix import confusion_matrix
from trainer_core.metrics.functional.precision_recall import f1, fbeta, precision, recall

__all__ = ["accuracy", "auc", "auroc", "confusion_matrix", "f1", "fbeta", "precision", "recall"]


def auc(x: torch.Tensor, y: torch.Tensor, reorder: bool = True) -> torch.Tensor:
    """The area under the curve through the points (x, y), by the trapezoidal rule.

    `reorder` (deprecated in Lightning 1.0, with its warning) sorts the points by x first; its
    sort is not stable, so points with equal x may swap. Without it x must be monotonic; a
    decreasing x gives the same, positive, area.
    """
    if reorder:
        warnings.warn(
            "The `reorder` parameter to `auc` has been deprecated and will be removed in v1.1; sort "
            "the points by x yourself and pass reorder=False (the sort used here is not stable).",
            DeprecationWarning,
            stacklevel=2,
        )
        order = torch.argsort(x)
        x, y = x[order], y[order]
        direction = 1.0
    else:
        steps = x[1:] - x[:-1]
        if (steps < 0).any() and not (steps <= 0).all():
            raise ValueError(
                f"auc(reorder=False): x is neither increasing nor decreasing ({x}); sort the points by x."
            )
        direction = -1.0 if (steps < 0).any() else 1.0
    dtype = torch.get_default_dtype()
    y = y if y.is_floating_point() else y.to(dtype)
    x = x if x.is_floating_point() else x.to(dtype)
    return direction * torch.trapezoid(y, x)
