"""Precision, recall and F-beta from per-class counts (see `stat_scores`)."""

from torch import Tensor

from trainer_core.metrics.functional.stat_scores import (
    _stat_scores_update,
    check_average,
    reduce_class_scores,
    safe_divide,
)


def _precision_score(tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
    return safe_divide(tp, tp + fp)


def _recall_score(tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
    return safe_divide(tp, tp + fn)


def _fbeta_score(beta: float):
    weight = beta**2

    def score(tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
        return safe_divide((1 + weight) * tp, (1 + weight) * tp + weight * fn + fp)

    return score


def _precision_compute(
    tp: Tensor, fp: Tensor, fn: Tensor, average: str | None, multiclass: bool
) -> Tensor:
    return reduce_class_scores(_precision_score, tp, fp, fn, average, multiclass)


def _recall_compute(
    tp: Tensor, fp: Tensor, fn: Tensor, average: str | None, multiclass: bool
) -> Tensor:
    return reduce_class_scores(_recall_score, tp, fp, fn, average, multiclass)


def _fbeta_compute(
    tp: Tensor, fp: Tensor, fn: Tensor, beta: float, average: str | None, multiclass: bool
) -> Tensor:
    return reduce_class_scores(_fbeta_score(beta), tp, fp, fn, average, multiclass)


def _is_multiclass(num_classes: int, multilabel: bool) -> bool:
    return num_classes > 1 and not multilabel


def precision(
    preds: Tensor,
    target: Tensor,
    num_classes: int = 1,
    threshold: float = 0.5,
    average: str = "micro",
    multilabel: bool = False,
) -> Tensor:
    """Precision of one batch; the functional twin of `Precision`."""
    check_average(average)
    tp, fp, fn = _stat_scores_update(preds, target, num_classes, threshold, multilabel)
    return _precision_compute(tp, fp, fn, average, _is_multiclass(num_classes, multilabel))


def recall(
    preds: Tensor,
    target: Tensor,
    num_classes: int = 1,
    threshold: float = 0.5,
    average: str = "micro",
    multilabel: bool = False,
) -> Tensor:
    """Recall of one batch; the functional twin of `Recall`."""
    check_average(average)
    tp, fp, fn = _stat_scores_update(preds, target, num_classes, threshold, multilabel)
    return _recall_compute(tp, fp, fn, average, _is_multiclass(num_classes, multilabel))


def fbeta(
    preds: Tensor,
    target: Tensor,
    num_classes: int = 1,
    beta: float = 1.0,
    threshold: float = 0.5,
    average: str = "micro",
    multilabel: bool = False,
) -> Tensor:
    """F-beta of one batch; the functional twin of `FBeta`."""
    check_average(average)
    tp, fp, fn = _stat_scores_update(preds, target, num_classes, threshold, multilabel)
    return _fbeta_compute(tp, fp, fn, beta, average, _is_multiclass(num_classes, multilabel))


def f1(
    preds: Tensor,
    target: Tensor,
    num_classes: int = 1,
    threshold: float = 0.5,
    average: str = "micro",
    multilabel: bool = False,
) -> Tensor:
    """F1 of one batch; the functional twin of `F1`."""
    return fbeta(preds, target, num_classes, 1.0, threshold, average, multilabel)
