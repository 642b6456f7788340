"""`AUROC`: exact area under the ROC curve, binary or multiclass one-vs-rest."""

from typing import Any

from torch import Tensor

from trainer_core.metrics.functional.auroc import _auroc_compute, _auroc_update, check_auroc_args
from trainer_core.metrics.metric import Metric
from trainer_core.metrics.state_reductions import dim_zero_cat


class AUROC(Metric):
    """Keeps every score and target seen (list states, concatenated across ranks).

    Binary (`num_classes=None`): preds are scores of the positive class (probabilities or
    logits), target 0/1. Multiclass: preds are class probabilities (N, C, ...), target labels;
    `average` is 'macro', 'weighted' (by class support) or None/'none' (one AUC per class).
    """

    preds: list[Tensor]
    target: list[Tensor]

    def __init__(
        self,
        num_classes: int | None = None,
        average: str | None = "macro",
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        check_auroc_args(num_classes, average)
        self.num_classes = num_classes
        self.average = average
        self.add_state("preds", [], dist_reduce_fx="cat")
        self.add_state("target", [], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor) -> None:
        preds, target = _auroc_update(preds, target, self.num_classes)
        self.preds.append(preds)
        self.target.append(target)

    def compute(self) -> Tensor:
        return _auroc_compute(
            dim_zero_cat(self.preds), dim_zero_cat(self.target), self.num_classes, self.average
        )
