"""Lightning 1.0's label helpers and per-class counts (true/false positives and negatives).

These read predictions the 1.0 way: class scores shaped (N, C, ...) are argmax-ed over the
class dim, anything of target's shape is taken as class labels (integers, or floats holding
whole numbers, or bools), and the number of classes is inferred as the largest label + 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError, MetricInputError
from trainer_core.metrics.functional.input_checks import check_same_shape, check_tensors
from trainer_core.utilities.distributed import rank_zero_warn

StatScores = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]
COUNT_REDUCTIONS = ("none", "sum", "elementwise_mean")


def as_labels(t: Tensor, name: str) -> Tensor:
    """`t` as a long tensor of class labels; floats must hold whole numbers, labels be >= 0."""
    if t.is_floating_point():
        if t.numel() and not bool((t == t.round()).all()):
            raise MetricInputError(
                f"{name} holds non-integer values (dtype {t.dtype}) where class labels are "
                "expected; pass integer labels, or class scores shaped (N, C, ...) with one "
                "more dim than target"
            )
    elif t.is_complex():
        raise MetricInputError(f"{name} must hold real class labels, got dtype {t.dtype}")
    t = t.long()
    if t.numel() and int(t.min()) < 0:
        raise MetricInputError(
            f"{name} holds negative class labels (min {int(t.min())}); labels must be 0..C-1"
        )
    return t


def to_onehot(tensor: Tensor, num_classes: int | None = None) -> Tensor:
    """Labels shaped (N, d1, ...) as a one-hot tensor (N, C, d1, ...) of the labels' dtype.

    C is `num_classes`, or the largest label + 1.
    """
    labels = as_labels(tensor, "tensor")
    if num_classes is None:
        if labels.numel() == 0:
            raise MetricInputError("to_onehot of an empty tensor needs num_classes")
        num_classes = int(labels.max()) + 1
    if labels.numel() and int(labels.max()) >= num_classes:
        raise MetricInputError(
            f"tensor holds label {int(labels.max())} but num_classes={num_classes}; raise "
            "num_classes or fix the labels"
        )
    onehot = torch.nn.functional.one_hot(labels, num_classes).to(tensor.dtype)
    return onehot.movedim(-1, 1) if labels.ndim > 1 else onehot


def to_categorical(tensor: Tensor, argmax_dim: int = 1) -> Tensor:
    """Class scores/probabilities as labels: the argmax over `argmax_dim` (the class dim)."""
    return torch.argmax(tensor, dim=argmax_dim)


def get_num_classes(pred: Tensor, target: Tensor, num_classes: int | None = None) -> int:
    """`num_classes`, or the largest label in pred or target + 1.

    A given `num_classes` that differs from the inferred one is kept, with a RuntimeWarning.
    """
    if pred.numel() == 0 or target.numel() == 0:
        if num_classes is None:
            raise MetricInputError("empty pred or target: pass num_classes explicitly")
        return num_classes
    target_classes = int(target.max()) + 1
    pred_classes = int(pred.max()) + 1
    inferred = max(target_classes, pred_classes)
    if num_classes is None:
        return inferred
    if num_classes != inferred:
        rank_zero_warn(
            f"You have set {num_classes} number of classes which is different from predicted "
            f"({pred_classes}) and target ({target_classes}) number of classes; using "
            f"{num_classes}",
            RuntimeWarning,
        )
    return num_classes


def labels_of(pred: Tensor, target: Tensor, argmax_dim: int) -> tuple[Tensor, Tensor]:
    """(predicted labels, target labels), both long and of target's shape."""
    check_tensors(pred, target)
    if pred.ndim == target.ndim + 1:
        pred = to_categorical(pred, argmax_dim=argmax_dim)
    check_same_shape(pred, target)
    return as_labels(pred, "pred"), as_labels(target, "target")


def stat_scores(pred: Tensor, target: Tensor, class_index: int, argmax_dim: int = 1) -> StatScores:
    """(tp, fp, tn, fn, support) of one class, as long scalars.

    `pred` holds labels of target's shape, or class scores that are argmax-ed over `argmax_dim`.
    """
    labels, target = labels_of(pred, target, argmax_dim)
    predicted, actual = labels == class_index, target == class_index
    tp = (predicted & actual).sum()
    fp = (predicted & ~actual).sum()
    tn = (~predicted & ~actual).sum()
    fn = (~predicted & actual).sum()
    return tp, fp, tn, fn, actual.sum()


def stat_scores_multiple_classes(
    pred: Tensor,
    target: Tensor,
    num_classes: int | None = None,
    argmax_dim: int = 1,
    reduction: str = "none",
) -> StatScores:
    """(tp, fp, tn, fn, support) of every class 0..C-1, as float tensors of shape (C,).

    C is `num_classes` or inferred (see `get_num_classes`); labels >= C belong to no class.
    `reduction` 'sum' or 'elementwise_mean' folds each count over the classes.
    """
    if reduction not in COUNT_REDUCTIONS:
        raise MetricDefinitionError(
            f"reduction={reduction!r} is unknown; use one of {COUNT_REDUCTIONS}"
        )
    labels, target = labels_of(pred, target, argmax_dim)
    num_classes = get_num_classes(labels, target, num_classes)
    labels, target = labels.reshape(-1), target.reshape(-1)
    # class num_classes is the overflow bin of labels that fit no class; it is dropped below
    bins = num_classes + 1
    labels, target = labels.clamp_max(num_classes), target.clamp_max(num_classes)
    hit = labels == target
    tps = torch.bincount(labels[hit], minlength=bins).float()
    fps = torch.bincount(labels[~hit], minlength=bins).float()
    fns = torch.bincount(target[~hit], minlength=bins).float()
    sups = torch.bincount(target, minlength=bins).float()
    tns = labels.numel() - (tps + fps + fns)
    counts = [c[:num_classes] for c in (tps, fps, tns, fns, sups)]
    if reduction == "sum":
        counts = [c.sum() for c in counts]
    elif reduction == "elementwise_mean":
        counts = [c.mean() for c in counts]
    tp, fp, tn, fn, sup = counts
    return tp, fp, tn, fn, sup
