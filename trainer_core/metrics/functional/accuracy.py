"""Accuracy: the share of predictions that match the target (element-wise for multilabel)."""

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricInputError
from trainer_core.metrics.functional.input_checks import (
    check_integer_target,
    check_labels,
    check_num_classes,
    check_rank,
    check_scores_shape,
    check_tensors,
    to_label_predictions,
)


def _accuracy_update(
    preds: Tensor,
    target: Tensor,
    threshold: float = 0.5,
    top_k: int | None = None,
    num_classes: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Count (correct, total) for one batch.

    With `top_k`, preds must be class scores (N, C, ...) and a sample counts as correct when its
    target is among the k highest scores.
    """
    if top_k is None or top_k == 1:
        labels, target = to_label_predictions(preds, target, threshold, num_classes)
        return (labels == target).sum(), torch.tensor(target.numel(), device=target.device)
    check_tensors(preds, target)
    check_rank(preds, target)
    if preds.ndim != target.ndim + 1:
        raise MetricInputError(
            f"top_k={top_k} needs class scores shaped (N, C, ...) with target (N, ...), got preds "
            f"{tuple(preds.shape)} and target {tuple(target.shape)}; pass logits or probabilities"
        )
    check_integer_target(target)
    check_scores_shape(preds, target)
    check_num_classes(preds, num_classes)
    if not 1 <= top_k <= preds.shape[1]:
        raise MetricInputError(
            f"top_k={top_k} must be between 1 and the {preds.shape[1]} classes in preds dim 1"
        )
    check_labels(target, preds.shape[1], "target")
    best = preds.topk(top_k, dim=1).indices
    correct = (best == target.unsqueeze(1)).any(dim=1).sum()
    return correct, torch.tensor(target.numel(), device=target.device)


def _accuracy_compute(correct: Tensor, total: Tensor) -> Tensor:
    if total == 0:  # an empty epoch scores 0 rather than nan, so a logged curve never breaks
        return torch.zeros((), device=correct.device)
    return correct.float() / total


def accuracy(
    preds: Tensor,
    target: Tensor,
    threshold: float = 0.5,
    top_k: int | None = None,
    num_classes: int | None = None,
) -> Tensor:
    """Accuracy of one batch; the functional twin of `Accuracy`."""
    correct, total = _accuracy_update(preds, target, threshold, top_k, num_classes)
    return _accuracy_compute(correct, total)
