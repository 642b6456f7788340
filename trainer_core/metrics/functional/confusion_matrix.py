"""Confusion matrix: counts of (actual class, predicted class) pairs, rows = actual."""

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError
from trainer_core.metrics.functional.input_checks import (
    check_binary,
    check_integer_target,
    check_same_shape,
    check_tensors,
)
from trainer_core.metrics.functional.stat_scores import binary_decisions, multiclass_labels

NORMALIZATIONS = (None, "none", "true", "pred", "all")


def check_confusion_matrix_args(num_classes: int, normalize: str | None) -> None:
    if num_classes < 2:
        raise MetricDefinitionError(
            f"num_classes={num_classes}: a confusion matrix needs at least 2 classes "
            "(use num_classes=2 for binary data)"
        )
    if normalize not in NORMALIZATIONS:
        raise MetricDefinitionError(
            f"normalize={normalize!r} is not supported; use one of {NORMALIZATIONS}"
        )


def _confusion_matrix_update(
    preds: Tensor, target: Tensor, num_classes: int, threshold: float = 0.5
) -> Tensor:
    """(num_classes, num_classes) counts of one batch.

    With num_classes=2, floating preds of target's shape are binary probabilities and are
    thresholded; otherwise preds are class scores (N, C, ...) or labels.
    """
    check_tensors(preds, target)
    if num_classes == 2 and preds.is_floating_point() and preds.shape == target.shape:
        check_integer_target(target)
        check_same_shape(preds, target)
        check_binary(target, "target")
        labels = binary_decisions(preds, threshold).long()
    else:
        labels, target = multiclass_labels(preds, target, num_classes)
    pairs = target.reshape(-1).long() * num_classes + labels.reshape(-1).long()
    return torch.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def _confusion_matrix_compute(confmat: Tensor, normalize: str | None = None) -> Tensor:
    """Counts, or rates normalised over actual ('true'), predicted ('pred') or 'all'.

    A row/column without samples normalises to zeros instead of nan.
    """
    if normalize in (None, "none"):
        return confmat
    counts = confmat.float()
    if normalize == "true":
        totals = counts.sum(dim=1, keepdim=True)
    elif normalize == "pred":
        totals = counts.sum(dim=0, keepdim=True)
    else:
        totals = counts.sum()
    return (counts / totals).nan_to_num(0.0)


def confusion_matrix(
    preds: Tensor,
    target: Tensor,
    num_classes: int,
    normalize: str | None = None,
    threshold: float = 0.5,
) -> Tensor:
    """Confusion matrix of one batch; the functional twin of `ConfusionMatrix`."""
    check_confusion_matrix_args(num_classes, normalize)
    confmat = _confusion_matrix_update(preds, target, num_classes, threshold)
    return _confusion_matrix_compute(confmat, normalize)
