"""`Accuracy`, the metric Lightning 1.0 users wrote as `pl.metrics.Accuracy()`."""

from typing import Any

import torch
from torch import Tensor

from trainer_core.metrics.functional.accuracy import _accuracy_compute, _accuracy_update
from trainer_core.metrics.metric import Metric


class Accuracy(Metric):
    """Share of correct predictions, accumulated over batches.

    Accepts binary or multilabel probabilities (thresholded at `threshold`, counted
    element-wise), multiclass class scores (N, C, ...) as logits or probabilities (argmax, or
    target within the `top_k` best), or integer labels of target's shape. `num_classes`, when
    given, is checked against the inputs.
    """

    correct: Tensor
    total: Tensor

    def __init__(
        self,
        threshold: float = 0.5,
        top_k: int | None = None,
        num_classes: int | None = None,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        self.threshold = threshold
        self.top_k = top_k
        self.num_classes = num_classes
        self.add_state("correct", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        correct, total = _accuracy_update(
            preds, target, self.threshold, self.top_k, self.num_classes
        )
        self.correct += correct
        self.total += total

    def compute(self) -> Tensor:
        return _accuracy_compute(self.correct, self.total)
