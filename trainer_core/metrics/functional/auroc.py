"""Area under the ROC curve, exact (no threshold binning), binary or multiclass one-vs-rest.

The AUC equals the probability that a random positive scores above a random negative (ties
count half), computed from average ranks in O(n log n).
"""

import warnings

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError, MetricInputError
from trainer_core.metrics.functional.input_checks import (
    check_binary,
    check_integer_target,
    check_labels,
    check_num_classes,
    check_probabilities,
    check_same_shape,
    check_scores_shape,
    check_tensors,
)

AUROC_AVERAGES = ("macro", "weighted", "none", None)


def check_auroc_args(num_classes: int | None, average: str | None) -> None:
    if num_classes is not None and num_classes < 2:
        raise MetricDefinitionError(
            f"num_classes={num_classes}: leave it None for binary AUROC, or pass the number "
            "(>= 2) of class score columns for multiclass"
        )
    if average not in AUROC_AVERAGES:
        raise MetricDefinitionError(
            f"average={average!r} is not supported for AUROC; use one of {AUROC_AVERAGES}"
        )


def _auroc_update(
    preds: Tensor, target: Tensor, num_classes: int | None = None
) -> tuple[Tensor, Tensor]:
    """Check a batch and return it flattened: binary (n,) scores, or multiclass (n, C)."""
    check_tensors(preds, target)
    check_integer_target(target)
    if num_classes is None:
        check_same_shape(preds, target)
        if not preds.is_floating_point():
            raise MetricInputError(
                f"binary AUROC needs floating scores, got preds of dtype {preds.dtype}; pass "
                "probabilities or logits, or num_classes for multiclass class scores"
            )
        check_binary(target, "target")
        return preds.reshape(-1), target.reshape(-1)
    if preds.ndim != target.ndim + 1:
        raise MetricInputError(
            f"multiclass AUROC needs class scores shaped (N, C, ...) with target (N, ...), got "
            f"preds {tuple(preds.shape)} and target {tuple(target.shape)}"
        )
    check_scores_shape(preds, target)
    check_num_classes(preds, num_classes)
    check_probabilities(preds)
    check_labels(target, num_classes, "target")
    return preds.movedim(1, -1).reshape(-1, num_classes), target.reshape(-1)


def _binary_auroc(scores: Tensor, positive: Tensor) -> Tensor:
    """Mann-Whitney AUC; 0 with a warning when only one class is present (as torchmetrics)."""
    n_pos = int(positive.sum())
    n_neg = positive.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        missing = "positive" if n_pos == 0 else "negative"
        warnings.warn(
            f"AUROC is undefined without {missing} samples in target; scoring it 0. Make sure "
            "every class occurs in the data the metric sees",
            UserWarning,
            stacklevel=3,
        )
        return torch.zeros((), dtype=torch.float64, device=scores.device)
    _, inverse, counts = torch.unique(scores, sorted=True, return_inverse=True, return_counts=True)
    last_rank = counts.cumsum(0).double()
    mean_rank = last_rank - (counts.double() - 1) / 2  # tied scores share their mean rank
    positive_ranks = mean_rank[inverse][positive].sum()
    return (positive_ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _auroc_compute(
    preds: Tensor, target: Tensor, num_classes: int | None = None, average: str | None = "macro"
) -> Tensor:
    dtype = preds.dtype  # answer in the precision the scores came in
    if num_classes is None:
        return _binary_auroc(preds, target == 1).to(dtype)
    per_class = torch.stack([_binary_auroc(preds[:, c], target == c) for c in range(num_classes)])
    if average in (None, "none"):
        return per_class.to(dtype)
    if average == "weighted":
        support = torch.bincount(target, minlength=num_classes).double()
        return (per_class * support / support.sum()).sum().to(dtype)
    return per_class.mean().to(dtype)


def auroc(
    preds: Tensor, target: Tensor, num_classes: int | None = None, average: str | None = "macro"
) -> Tensor:
    """AUROC of one batch; the functional twin of `AUROC`."""
    check_auroc_args(num_classes, average)
    return _auroc_compute(*_auroc_update(preds, target, num_classes), num_classes, average)
