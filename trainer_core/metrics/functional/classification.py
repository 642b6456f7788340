"""Lightning 1.0's `metrics.functional.classification`: its functions with 1.0's signatures.

They read predictions the 1.0 way (see `label_stats`): labels or class scores, the number of
classes inferred from the data, and `class_reduction` instead of `average`. trainer_core's own
`metrics.functional.accuracy` / `precision` / ... keep the newer signatures the classes use;
`f1` / `fbeta` (in 1.0's `functional.f_beta`, not here) are re-exported with those.
"""

from __future__ import annotations

import warnings
from typing import Literal, overload

import torch

from trainer_core.metrics.functional.confusion_matrix import (
    _confusion_matrix_compute,
    _confusion_matrix_update,
)
from trainer_core.metrics.functional.curves import (
    _binary_clf_curve,
    auroc,
    average_precision,
    multiclass_precision_recall_curve,
    multiclass_roc,
    precision_recall_curve,
    roc,
)
from trainer_core.metrics.functional.label_stats import (
    get_num_classes,
    labels_of,
    stat_scores,
    stat_scores_multiple_classes,
    to_categorical,
    to_onehot,
)
from trainer_core.metrics.functional.precision_recall import f1, fbeta
from trainer_core.metrics.functional.reduction import class_reduce, reduce
from trainer_core.metrics.functional.segmentation import dice_score, iou
from trainer_core.utilities.distributed import rank_zero_warn

__all__ = [
    "_binary_clf_curve",
    "accuracy",
    "auc",
    "auroc",
    "average_precision",
    "class_reduce",
    "confusion_matrix",
    "dice_score",
    "f1",
    "fbeta",
    "get_num_classes",
    "iou",
    "multiclass_precision_recall_curve",
    "multiclass_roc",
    "precision",
    "precision_recall",
    "precision_recall_curve",
    "recall",
    "reduce",
    "roc",
    "stat_scores",
    "stat_scores_multiple_classes",
    "to_categorical",
    "to_onehot",
]

State = dict[str, torch.Tensor]


@overload
def accuracy(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None = ...,
    class_reduction: str = ...,
    return_state: Literal[False] = ...,
) -> torch.Tensor: ...
@overload
def accuracy(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None,
    class_reduction: str,
    return_state: Literal[True],
) -> State: ...
def accuracy(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None = None,
    class_reduction: str = "micro",
    return_state: bool = False,
) -> torch.Tensor | State:
    """Share of correct labels: per class, the true positives over the support, then reduced.

    'micro' is the plain share of matches; 'none' gives each class's recall. `return_state`
    returns the counts ({'tps', 'sups'}) to sum across processes before reducing.
    """
    tps, _, _, _, sups = stat_scores_multiple_classes(pred, target, num_classes)
    if return_state:
        return {"tps": tps, "sups": sups}
    return class_reduce(tps, sups, sups, class_reduction=class_reduction)


def confusion_matrix(
    pred: torch.Tensor,
    target: torch.Tensor,
    normalize: bool = False,
    num_classes: int | None = None,
) -> torch.Tensor:
    """(C, C) float counts, row = actual class, column = predicted class.

    `normalize` divides each row by its total (the share of each actual class predicted as each
    class); a class absent from target gets a row of zeros, with a warning.
    """
    labels, target = labels_of(pred, target, argmax_dim=1)
    num_classes = get_num_classes(labels, target, num_classes)
    counts = _confusion_matrix_update(labels, target, num_classes).float()
    if not normalize:
        return counts
    empty_rows = int((counts.sum(dim=1) == 0).sum())
    if empty_rows:
        rank_zero_warn(
            f"{empty_rows * num_classes} nan values found in confusion matrix have been replaced "
            f"with zeros: {empty_rows} class(es) never occur in target",
            UserWarning,
        )
    return _confusion_matrix_compute(counts, "true")


def _precision_recall_support(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int | None, class_reduction: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, State]:
    tps, fps, _, fns, sups = stat_scores_multiple_classes(pred, target, num_classes)
    precision = class_reduce(tps, tps + fps, sups, class_reduction=class_reduction)
    recall = class_reduce(tps, tps + fns, sups, class_reduction=class_reduction)
    return precision, recall, sups, {"tps": tps, "fps": fps, "fns": fns, "sups": sups}


def precision_recall(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None = None,
    class_reduction: str = "micro",
    return_support: bool = False,
    return_state: bool = False,
) -> tuple[torch.Tensor, ...] | State:
    """(precision, recall) of labels or class scores, each reduced over the classes.

    `return_support` appends the per-class support; `return_state` returns the counts
    ({'tps', 'fps', 'fns', 'sups'}) to sum across processes instead.
    """
    precision, recall, sups, state = _precision_recall_support(
        pred, target, num_classes, class_reduction
    )
    if return_state:
        return state
    if return_support:
        return precision, recall, sups
    return precision, recall


def precision(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None = None,
    class_reduction: str = "micro",
) -> torch.Tensor:
    """Precision, tp / (tp + fp), of labels or class scores, reduced over the classes."""
    return _precision_recall_support(pred, target, num_classes, class_reduction)[0]


def recall(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int | None = None,
    class_reduction: str = "micro",
) -> torch.Tensor:
    """Recall, tp / (tp + fn), of labels or class scores, reduced over the classes."""
    return _precision_recall_support(pred, target, num_classes, class_reduction)[1]


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
