"""Per-class true/false positive counts and the averages built from them.

Precision, recall and F-beta are all ratios of these counts, so they share one update (which
reads binary, multiclass and multilabel inputs) and one averaging rule.
"""

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError, MetricInputError
from trainer_core.metrics.functional.input_checks import (
    check_binary,
    check_integer_target,
    check_labels,
    check_num_classes,
    check_probabilities,
    check_rank,
    check_same_shape,
    check_scores_shape,
    check_tensors,
)

Average = Literal["micro", "macro", "weighted", "none"]
ScoreFn = Callable[[Tensor, Tensor, Tensor], Tensor]  # (tp, fp, fn) -> score
AVERAGES = ("micro", "macro", "weighted", "none")


def check_average(average: str | None) -> None:
    if average is not None and average not in AVERAGES:
        raise MetricDefinitionError(f"average={average!r} is not supported; use one of {AVERAGES}")


def binary_decisions(preds: Tensor, threshold: float) -> Tensor:
    """Positive decisions from probabilities (>= threshold, as Lightning 1.0) or 0/1 labels."""
    if preds.is_floating_point():
        check_probabilities(preds)
        return preds >= threshold
    check_binary(preds, "preds")
    return preds == 1


def to_one_hot_decisions(
    preds: Tensor, target: Tensor, num_classes: int, threshold: float, multilabel: bool
) -> tuple[Tensor, Tensor]:
    """(predicted, actual) as boolean (samples, classes) matrices.

    - `multilabel`: preds/target shaped (N, num_classes, ...), probabilities or 0/1.
    - `num_classes == 1`: binary; preds/target of the same shape, probabilities or 0/1 (target
      integer, bool or float 0./1.).
    - otherwise multiclass: class scores (N, C, ...) (argmax) or labels, target labels.
    """
    check_tensors(preds, target)
    if multilabel or num_classes == 1:
        # 0/1 targets may come as floats here (Lightning 1.0.8); check_binary checks the values
        check_same_shape(preds, target)
        if multilabel and (preds.ndim < 2 or preds.shape[1] != num_classes):
            raise MetricInputError(
                f"multilabel preds {tuple(preds.shape)} must be shaped (N, num_classes, ...) "
                f"with num_classes={num_classes} labels in dim 1"
            )
        check_binary(target, "target")
        predicted = binary_decisions(preds, threshold)
        actual = target == 1
        if predicted.ndim < 2:  # binary: one column
            return predicted.reshape(-1, 1), actual.reshape(-1, 1)
        return (
            predicted.movedim(1, -1).reshape(-1, num_classes),
            actual.movedim(1, -1).reshape(-1, num_classes),
        )
    labels, target = multiclass_labels(preds, target, num_classes)
    classes = torch.arange(num_classes, device=target.device)
    return labels.reshape(-1, 1) == classes, target.reshape(-1, 1) == classes


def multiclass_labels(preds: Tensor, target: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Predicted labels from class scores (N, C, ...) or labels, both checked against C."""
    check_tensors(preds, target)
    check_integer_target(target)
    check_rank(preds, target)
    if preds.ndim == target.ndim + 1:
        check_scores_shape(preds, target)
        check_num_classes(preds, num_classes)
        labels = preds.argmax(dim=1)
    else:
        check_same_shape(preds, target)
        if preds.is_floating_point():
            raise MetricInputError(
                f"preds of target's shape {tuple(preds.shape)} are floating point, but a "
                f"multiclass metric (num_classes={num_classes}) needs integer labels or class "
                "scores shaped (N, C, ...); pass multilabel=True for per-label probabilities"
            )
        check_labels(preds, num_classes, "preds")
        labels = preds
    check_labels(target, num_classes, "target")
    return labels, target


def _stat_scores_update(
    preds: Tensor,
    target: Tensor,
    num_classes: int = 1,
    threshold: float = 0.5,
    multilabel: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-class (true positives, false positives, false negatives) of one batch."""
    predicted, actual = to_one_hot_decisions(preds, target, num_classes, threshold, multilabel)
    tp = (predicted & actual).sum(dim=0)
    fp = (predicted & ~actual).sum(dim=0)
    fn = (~predicted & actual).sum(dim=0)
    return tp, fp, fn


def safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, with 0 where the denominator is 0 (no predictions, no support)."""
    numerator, denominator = numerator.float(), denominator.float()
    zero = denominator == 0
    return torch.where(
        zero, torch.zeros_like(numerator), numerator / denominator.masked_fill(zero, 1)
    )


def reduce_class_scores(
    score_of: ScoreFn,
    tp: Tensor,
    fp: Tensor,
    fn: Tensor,
    average: str | None,
    multiclass: bool,
) -> Tensor:
    """Average a per-class score the way Lightning/torchmetrics do.

    micro: one score from the summed counts. macro: unweighted mean over classes, skipping (for
    multiclass) classes that were neither predicted nor present. weighted: mean weighted by
    support. none: the per-class scores (a one-item tensor for binary data).
    """
    per_class = score_of(tp, fp, fn)
    if average in (None, "none"):  # binary too: one score per class, shape (1,) (Lightning 1.0.8)
        return per_class
    if tp.numel() == 1:  # binary: one class, every average is the same number
        return per_class[0]
    if average == "micro":
        return score_of(tp.sum(), fp.sum(), fn.sum())
    if average == "weighted":
        weights = (tp + fn).float()
    else:
        weights = torch.ones_like(per_class)
        if multiclass:
            weights[(tp + fp + fn) == 0] = 0.0
    return safe_divide((weights * per_class).sum(), weights.sum())
