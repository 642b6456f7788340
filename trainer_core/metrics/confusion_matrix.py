"""`ConfusionMatrix(num_classes, normalize=None, threshold=0.5)`, as in Lightning 1.0.x."""

from typing import Any

import torch
from torch import Tensor

from trainer_core.metrics.functional.confusion_matrix import (
    _confusion_matrix_compute,
    _confusion_matrix_update,
    check_confusion_matrix_args,
)
from trainer_core.metrics.metric import Metric


class ConfusionMatrix(Metric):
    """Accumulated (actual, predicted) counts; rows are actual classes.

    `normalize`: None for counts, 'true' (rows sum to 1), 'pred' (columns) or 'all'.
    """

    confmat: Tensor

    def __init__(
        self,
        num_classes: int,
        normalize: str | None = None,
        threshold: float = 0.5,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        check_confusion_matrix_args(num_classes, normalize)
        self.num_classes = num_classes
        self.normalize = normalize
        self.threshold = threshold
        self.add_state(
            "confmat", torch.zeros(num_classes, num_classes, dtype=torch.long), dist_reduce_fx="sum"
        )

    def update(self, preds: Tensor, target: Tensor) -> None:
        self.confmat += _confusion_matrix_update(preds, target, self.num_classes, self.threshold)

    def compute(self) -> Tensor:
        return _confusion_matrix_compute(self.confmat, self.normalize)
