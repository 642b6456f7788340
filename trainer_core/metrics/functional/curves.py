"""Lightning 1.0's threshold curves: ROC and precision-recall, and the areas under them.

Every distinct score is a threshold; a sample counts as predicted positive at a threshold when
its score is >= it. Binary curves take scores of target's shape and `pos_label`; the multiclass
ones run the binary curve on each class's score column, one class against the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricInputError
from trainer_core.metrics.functional.input_checks import check_tensors

Curve = tuple[Tensor, Tensor, Tensor]
Weights = Sequence[float] | Tensor | None


def _scores_and_weights(
    pred: Tensor, target: Tensor, sample_weight: Weights
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Flattened (scores, target, weights), checked to line up sample by sample."""
    check_tensors(pred, target)
    if pred.ndim == target.ndim + 1 and pred.shape[1] == 1:
        pred = pred.squeeze(1)  # one score column: that column is the score
    if pred.shape != target.shape:
        raise MetricInputError(
            f"a binary curve needs one score per target, got pred {tuple(pred.shape)} and target "
            f"{tuple(target.shape)}; pass pred[:, c] for class c, or use multiclass_roc / "
            "multiclass_precision_recall_curve for class scores"
        )
    if pred.numel() == 0:
        raise MetricInputError("pred and target are empty; a curve needs at least one sample")
    weights = None
    if sample_weight is not None:
        weights = torch.as_tensor(sample_weight, device=pred.device)
        if not weights.is_floating_point():
            weights = weights.to(torch.get_default_dtype())
        if weights.numel() != pred.numel():
            raise MetricInputError(
                f"sample_weight has {weights.numel()} values for {pred.numel()} samples; pass "
                "one weight per sample"
            )
        weights = weights.reshape(-1)
    return pred.reshape(-1), target.reshape(-1), weights


def _binary_clf_curve(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    pos_label: int | float = 1.0,
) -> Curve:
    """(false positives, true positives, thresholds) at each distinct score, highest first.

    The counts at a threshold are (weighted) sums over the samples scoring >= it.
    """
    scores, target, weights = _scores_and_weights(pred, target, sample_weight)
    order = torch.argsort(scores, descending=True)
    scores, target = scores[order], target[order]
    # the last sample of each run of tied scores closes that threshold
    last_of_run = torch.nonzero(scores[1:] != scores[:-1]).reshape(-1)
    ends = torch.cat([last_of_run, last_of_run.new_tensor([scores.numel() - 1])])
    positive = (target == pos_label).to(torch.get_default_dtype())
    if weights is None:
        tps = positive.cumsum(0)[ends]
        fps = 1 + ends - tps
    else:
        weights = weights[order]
        positive = positive.to(weights.dtype)
        tps = (positive * weights).cumsum(0)[ends]
        # a cumsum of its own keeps fps increasing despite rounding
        fps = ((1 - positive) * weights).cumsum(0)[ends]
    return fps, tps, scores[ends]


def roc(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    pos_label: int | float = 1.0,
) -> Curve:
    """(false positive rate, true positive rate, thresholds) of binary scores.

    The curve starts at (0, 0), whose threshold is the highest score + 1. Raises ValueError when
    target has no negatives or no positives, as either rate is then undefined.
    """
    fps, tps, thresholds = _binary_clf_curve(pred, target, sample_weight, pos_label)
    fps = torch.cat([fps.new_zeros(1), fps])
    tps = torch.cat([tps.new_zeros(1), tps])
    thresholds = torch.cat([thresholds[:1] + 1, thresholds])
    if fps[-1] <= 0:
        raise MetricInputError(
            f"roc: target has no negative samples (none differ from pos_label={pos_label}), so "
            "the false positive rate is undefined; score data holding both classes"
        )
    if tps[-1] <= 0:
        raise MetricInputError(
            f"roc: target has no positive samples (pos_label={pos_label}), so the true positive "
            "rate is undefined; score data holding both classes or fix pos_label"
        )
    return fps / fps[-1], tps / tps[-1], thresholds


def precision_recall_curve(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    pos_label: int | float = 1.0,
) -> Curve:
    """(precision, recall, thresholds) of binary scores, by increasing threshold.

    The curve stops at the lowest threshold that reaches full recall and ends with the point
    (recall 0, precision 1), which has no threshold; so precision and recall hold one value
    more than thresholds.
    """
    fps, tps, thresholds = _binary_clf_curve(pred, target, sample_weight, pos_label)
    if tps[-1] <= 0:
        raise MetricInputError(
            f"precision_recall_curve: target has no positive samples (pos_label={pos_label}), "
            "so recall is undefined; score data holding positives or fix pos_label"
        )
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    stop = int(torch.nonzero(tps == tps[-1])[0]) + 1  # the first threshold at full recall
    precision = torch.cat([precision[:stop].flip(0), precision.new_ones(1)])
    recall = torch.cat([recall[:stop].flip(0), recall.new_zeros(1)])
    return precision, recall, thresholds[:stop].flip(0)


def _class_columns(pred: Tensor, target: Tensor, num_classes: int | None) -> int:
    """How many score columns of (N, C) `pred` to score: `num_classes`, or all C."""
    check_tensors(pred, target)
    if pred.ndim != 2 or target.ndim != 1 or pred.shape[0] != target.shape[0]:
        raise MetricInputError(
            f"multiclass curves need class scores (N, C) with target labels (N,), got pred "
            f"{tuple(pred.shape)} and target {tuple(target.shape)}"
        )
    if num_classes is None:
        return pred.shape[1]
    if not 1 <= num_classes <= pred.shape[1]:
        raise MetricInputError(
            f"num_classes={num_classes} but pred has {pred.shape[1]} score columns; pass "
            f"num_classes between 1 and {pred.shape[1]}, or leave it None"
        )
    return num_classes


def multiclass_roc(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    num_classes: int | None = None,
) -> tuple[Curve, ...]:
    """One `roc` (fpr, tpr, thresholds) per class c, of score column c against target == c."""
    columns = _class_columns(pred, target, num_classes)
    return tuple(roc(pred[:, c], target, sample_weight, pos_label=c) for c in range(columns))


def multiclass_precision_recall_curve(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    num_classes: int | None = None,
) -> tuple[Curve, ...]:
    """One `precision_recall_curve` per class c, of score column c against target == c."""
    columns = _class_columns(pred, target, num_classes)
    return tuple(
        precision_recall_curve(pred[:, c], target, sample_weight, pos_label=c)
        for c in range(columns)
    )


def auroc(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    pos_label: int | float = 1.0,
) -> Tensor:
    """Area under the ROC curve of binary scores (target of 0s and 1s), by the trapezoid rule."""
    check_tensors(pred, target)
    if target.numel() and bool((target > 1).any()):
        raise MetricInputError(
            "AUROC metric is meant for binary classification, but target holds values other "
            "than 0 and 1; for class scores use multiclass_roc or trainer_core's "
            "metrics.functional.auroc(num_classes=...)"
        )
    fpr, tpr, _ = roc(pred, target, sample_weight, pos_label)
    return torch.trapezoid(tpr, fpr)  # fpr never decreases along the curve


def average_precision(
    pred: Tensor,
    target: Tensor,
    sample_weight: Weights = None,
    pos_label: int | float = 1.0,
) -> Tensor:
    """Average precision: the precision at each threshold weighted by the recall it adds."""
    precision, recall, _ = precision_recall_curve(pred, target, sample_weight, pos_label)
    return -torch.sum((recall[1:] - recall[:-1]) * precision[:-1])
