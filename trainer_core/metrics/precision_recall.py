"""`Precision`, `Recall`, `FBeta` and `F1` with Lightning 1.0's arguments.

`num_classes=1` (the default) scores binary data; `num_classes > 1` multiclass data (class
scores or labels); `multilabel=True` per-label probabilities or 0/1 shaped (N, num_classes).
"""

from typing import Any

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError
from trainer_core.metrics.functional.precision_recall import (
    _fbeta_compute,
    _is_multiclass,
    _precision_compute,
    _recall_compute,
)
from trainer_core.metrics.functional.stat_scores import _stat_scores_update, check_average
from trainer_core.metrics.metric import Metric


class _ClassCounts(Metric):
    """Accumulates per-class tp/fp/fn; subclasses turn them into a score."""

    true_positives: Tensor
    false_positives: Tensor
    false_negatives: Tensor

    def __init__(
        self,
        num_classes: int = 1,
        threshold: float = 0.5,
        average: str = "micro",
        multilabel: bool = False,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        if num_classes < 1:
            raise MetricDefinitionError(
                f"num_classes={num_classes} must be at least 1 (1 means binary data)"
            )
        check_average(average)
        self.num_classes = num_classes
        self.threshold = threshold
        self.average = average
        self.multilabel = multilabel
        zeros = torch.zeros(num_classes, dtype=torch.long)
        self.add_state("true_positives", zeros, dist_reduce_fx="sum")
        self.add_state("false_positives", zeros, dist_reduce_fx="sum")
        self.add_state("false_negatives", zeros, dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        tp, fp, fn = _stat_scores_update(
            preds, target, self.num_classes, self.threshold, self.multilabel
        )
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn

    @property
    def _counts(self) -> tuple[Tensor, Tensor, Tensor]:
        return self.true_positives, self.false_positives, self.false_negatives

    @property
    def _multiclass(self) -> bool:
        return _is_multiclass(self.num_classes, self.multilabel)


class Precision(_ClassCounts):
    """tp / (tp + fp), averaged over classes by `average` (micro, macro, weighted, none)."""

    def compute(self) -> Tensor:
        return _precision_compute(*self._counts, self.average, self._multiclass)


class Recall(_ClassCounts):
    """tp / (tp + fn), averaged over classes by `average` (micro, macro, weighted, none)."""

    def compute(self) -> Tensor:
        return _recall_compute(*self._counts, self.average, self._multiclass)


class FBeta(_ClassCounts):
    """Weighted harmonic mean of precision and recall; `beta` > 1 favours recall."""

    def __init__(
        self,
        num_classes: int = 1,
        beta: float = 1.0,
        threshold: float = 0.5,
        average: str = "micro",
        multilabel: bool = False,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(
            num_classes,
            threshold,
            average,
            multilabel,
            compute_on_step,
            dist_sync_on_step,
            process_group,
            dist_sync_fn,
        )
        self.beta = beta

    def compute(self) -> Tensor:
        return _fbeta_compute(*self._counts, self.beta, self.average, self._multiclass)


class F1(FBeta):
    """FBeta with beta = 1."""

    def __init__(
        self,
        num_classes: int = 1,
        threshold: float = 0.5,
        average: str = "micro",
        multilabel: bool = False,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(
            num_classes,
            1.0,
            threshold,
            average,
            multilabel,
            compute_on_step,
            dist_sync_on_step,
            process_group,
            dist_sync_fn,
        )
