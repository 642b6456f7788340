"""Lightning 1.0's `metrics.functional.reduction`: how a tensor of scores becomes one value.

`reduce` folds a tensor ('elementwise_mean', 'sum', 'none'); `class_reduce` turns per-class
numerators and denominators into a micro, macro, weighted or per-class score.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError

REDUCTIONS = ("elementwise_mean", "sum", "none")
CLASS_REDUCTIONS = ("micro", "macro", "weighted", "none", None)


def reduce(to_reduce: Tensor, reduction: str) -> Tensor:
    """`to_reduce` averaged ('elementwise_mean'), summed ('sum') or returned as is ('none')."""
    if reduction == "elementwise_mean":
        return torch.mean(to_reduce)
    if reduction == "sum":
        return torch.sum(to_reduce)
    if reduction == "none":
        return to_reduce
    raise MetricDefinitionError(f"reduction={reduction!r} is unknown; use one of {REDUCTIONS}")


def _nan_to_zero(fraction: Tensor) -> Tensor:
    """0 where a class had an empty denominator (0/0), so one empty class never poisons a mean."""
    return torch.where(torch.isnan(fraction), torch.zeros_like(fraction), fraction)


def class_reduce(
    num: Tensor, denom: Tensor, weights: Tensor, class_reduction: str | None = "none"
) -> Tensor:
    """Reduce a per-class score `num / denom` over classes.

    micro: sum(num) / sum(denom); macro: the unweighted mean of the per-class fractions;
    weighted: their mean weighted by `weights` (e.g. the support); none/None: the fractions.
    A 0/0 fraction counts as 0.
    """
    if class_reduction not in CLASS_REDUCTIONS:
        raise MetricDefinitionError(
            f"class_reduction={class_reduction!r} is unknown; use one of {CLASS_REDUCTIONS}"
        )
    if class_reduction == "micro":
        return _nan_to_zero(torch.sum(num) / torch.sum(denom))
    fraction = _nan_to_zero(num / denom)
    if class_reduction == "macro":
        return torch.mean(fraction)
    if class_reduction == "weighted":
        return torch.sum(fraction * (weights.float() / torch.sum(weights)))
    return fraction
