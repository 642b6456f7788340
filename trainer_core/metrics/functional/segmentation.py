"""Lightning 1.0's overlap scores per class: the Dice coefficient and IoU (Jaccard index)."""

from __future__ import annotations

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricInputError
from trainer_core.metrics.functional.input_checks import check_tensors
from trainer_core.metrics.functional.label_stats import (
    get_num_classes,
    labels_of,
    stat_scores,
    stat_scores_multiple_classes,
)
from trainer_core.metrics.functional.reduction import reduce


def dice_score(
    pred: Tensor,
    target: Tensor,
    bg: bool = False,
    nan_score: float = 0.0,
    no_fg_score: float = 0.0,
    reduction: str = "elementwise_mean",
) -> Tensor:
    """Dice, 2 tp / (2 tp + fp + fn), of each class, reduced over the classes.

    `pred` holds class scores (N, C, ...) (C is then its dim 1) or labels of target's shape.
    Class 0 is the background and is left out unless `bg`; a class missing from target scores
    `no_fg_score`, one with an empty denominator `nan_score`.
    """
    check_tensors(pred, target)
    if pred.ndim == target.ndim + 1:
        num_classes = pred.shape[1]
    else:
        num_classes = get_num_classes(pred, target)
    labels, target = labels_of(pred, target, argmax_dim=1)
    scores = []
    for c in range(0 if bg else 1, num_classes):
        if not bool((target == c).any()):
            scores.append(no_fg_score)
            continue
        tp, fp, _, fn, _ = stat_scores(labels, target, class_index=c)
        denominator = int(2 * tp + fp + fn)
        scores.append(2 * int(tp) / denominator if denominator else nan_score)
    per_class = torch.tensor(scores, dtype=torch.float32, device=pred.device)
    return reduce(per_class, reduction=reduction)


def iou(
    pred: Tensor,
    target: Tensor,
    ignore_index: int | None = None,
    absent_score: float = 0.0,
    num_classes: int | None = None,
    reduction: str = "elementwise_mean",
) -> Tensor:
    """Intersection over union, tp / (tp + fp + fn), of each class, reduced over the classes.

    `pred` and `target` hold integer labels of one shape. A class in neither scores
    `absent_score`; class `ignore_index` (when in 0..C-1) is left out of the result.
    """
    check_tensors(pred, target)
    if pred.shape != target.shape:
        raise MetricInputError(
            f"'pred' shape ({tuple(pred.shape)}) must equal 'target' shape "
            f"({tuple(target.shape)}); pass predicted labels, not class scores (argmax them)"
        )
    if pred.is_floating_point() and pred.numel() and not bool((pred == pred.round()).all()):
        raise MetricInputError(
            "'pred' must contain integer targets. Got non-integer values; argmax class scores "
            "or round probabilities into labels first"
        )
    tps, fps, _, fns, sups = stat_scores_multiple_classes(pred, target, num_classes)
    absent = (sups + tps + fps) == 0  # in neither pred nor target
    scores = torch.where(absent, torch.full_like(tps, absent_score), tps / (tps + fps + fns))
    if ignore_index is not None and 0 <= ignore_index < scores.numel():
        scores = torch.cat([scores[:ignore_index], scores[ignore_index + 1 :]])
    return reduce(scores, reduction=reduction)
