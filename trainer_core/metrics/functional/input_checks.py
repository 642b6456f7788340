"""Strict checks on what users pass to metrics, and the label/score formats derived from it.

Every failure raises `MetricInputError` (a `ValueError`) whose message names the offending
shapes or values and says what to pass instead, because a silently wrong metric is worse than
a crash.
"""

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricInputError, MetricShapeError

_PROBABILITY_HINT = (
    "pass probabilities (apply torch.sigmoid for binary/multilabel scores, or torch.softmax "
    "over dim 1 for multiclass scores) or integer labels"
)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def check_tensors(preds: Tensor, target: Tensor) -> None:
    if not isinstance(preds, Tensor) or not isinstance(target, Tensor):
        raise MetricInputError(
            f"preds and target must be torch.Tensor, got {type(preds).__name__} and "
            f"{type(target).__name__}; wrap them with torch.as_tensor(...)"
        )


def check_same_shape(preds: Tensor, target: Tensor) -> None:
    if preds.shape != target.shape:
        raise MetricShapeError(
            f"Predictions and targets are expected to have the same shape, got preds "
            f"{_shape(preds)} and target {_shape(target)}; check the batch dimension and "
            "squeeze/reshape one of them"
        )


def check_probabilities(preds: Tensor) -> None:
    if preds.numel() == 0:
        return
    low, high = float(preds.min()), float(preds.max())
    if low < 0.0 or high > 1.0:
        raise MetricInputError(
            f"preds hold floating values outside [0, 1] (min {low:.4g}, max {high:.4g}) where "
            f"probabilities are expected; {_PROBABILITY_HINT}"
        )


def check_integer_target(target: Tensor) -> None:
    if target.is_floating_point() or target.is_complex():
        raise MetricInputError(
            f"target must hold integer class labels, got dtype {target.dtype}; convert it with "
            "target.long()"
        )


def check_binary(t: Tensor, name: str) -> None:
    if t.numel() and not bool(((t == 0) | (t == 1)).all()):
        bad = torch.unique(t[(t != 0) & (t != 1)])[:5].tolist()
        raise MetricInputError(
            f"{name} must hold only 0 and 1 here (binary or multilabel data), found {bad}; for "
            "multiclass labels pass num_classes > 1 (and multilabel=False)"
        )


def check_labels(t: Tensor, num_classes: int, name: str) -> None:
    if t.numel() == 0:
        return
    low, high = int(t.min()), int(t.max())
    if low < 0 or high >= num_classes:
        raise MetricInputError(
            f"{name} holds class ids in [{low}, {high}] but num_classes={num_classes} allows only "
            f"0..{num_classes - 1}; raise num_classes or fix the labels"
        )


def check_scores_shape(preds: Tensor, target: Tensor) -> None:
    """preds (N, C, ...) of scores against target (N, ...) of labels."""
    if preds.shape[0] != target.shape[0] or preds.shape[2:] != target.shape[1:]:
        raise MetricInputError(
            f"preds of class scores {_shape(preds)} do not fit target {_shape(target)}: expected "
            f"preds shaped (N, C, ...) with target (N, ...), i.e. target "
            f"{(preds.shape[0], *preds.shape[2:])}"
        )


def check_num_classes(preds: Tensor, num_classes: int | None) -> None:
    if num_classes is not None and preds.shape[1] != num_classes:
        raise MetricInputError(
            f"preds {_shape(preds)} carry {preds.shape[1]} class scores in dim 1 but "
            f"num_classes={num_classes}; pass num_classes={preds.shape[1]} or fix the model output"
        )


def check_rank(preds: Tensor, target: Tensor) -> None:
    if preds.ndim not in (target.ndim, target.ndim + 1):
        raise MetricInputError(
            f"preds {_shape(preds)} and target {_shape(target)} do not fit: preds must have the "
            "shape of target (labels or probabilities) or one more dim in position 1 (class "
            "scores, shaped (N, C, ...))"
        )


def to_label_predictions(
    preds: Tensor, target: Tensor, threshold: float = 0.5, num_classes: int | None = None
) -> tuple[Tensor, Tensor]:
    """Predicted labels of target's shape, the way Lightning 1.0's Accuracy made them.

    Class scores (one more dim than target) are argmax-ed over dim 1; floating predictions of
    target's shape must be probabilities and count as 1 where `preds >= threshold`; integer
    predictions are taken as labels.
    """
    check_tensors(preds, target)
    check_rank(preds, target)
    check_integer_target(target)
    if preds.ndim == target.ndim + 1:
        check_scores_shape(preds, target)
        check_num_classes(preds, num_classes)
        check_labels(target, preds.shape[1], "target")
        return preds.argmax(dim=1), target
    check_same_shape(preds, target)
    if preds.is_floating_point():
        check_probabilities(preds)
        check_binary(target, "target")
        return (preds >= threshold).to(target.dtype), target
    if num_classes is not None:
        check_labels(preds, num_classes, "preds")
        check_labels(target, num_classes, "target")
    return preds, target
