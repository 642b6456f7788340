"""`MeanSquaredError`, `MeanAbsoluteError`, `MeanSquaredLogError` and `ExplainedVariance`
(Lightning 1.0.8)."""

from typing import Any

import torch
from torch import Tensor

from trainer_core.metrics.functional.regression import (
    _explained_variance_compute,
    _explained_variance_update,
    _mean_absolute_error_update,
    _mean_error_compute,
    _mean_squared_error_update,
    _mean_squared_log_error_update,
    check_multioutput,
)
from trainer_core.metrics.metric import Metric


class _MeanError(Metric):
    """A running sum of per-element errors and the element count."""

    sum_error: Tensor
    total: Tensor

    def __init__(
        self,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        self.add_state("sum_error", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def _add(self, sum_error: Tensor, count: Tensor) -> None:
        # promote the state (float32 by default) when the data come in float64
        self.sum_error = self.sum_error + sum_error
        self.total += count

    def compute(self) -> Tensor:
        return _mean_error_compute(self.sum_error, self.total)


class MeanSquaredError(_MeanError):
    """Mean of (preds - target)^2 over every element seen."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        self._add(*_mean_squared_error_update(preds, target))


class MeanAbsoluteError(_MeanError):
    """Mean of |preds - target| over every element seen."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        self._add(*_mean_absolute_error_update(preds, target))


class MeanSquaredLogError(_MeanError):
    """Mean of (log(1 + preds) - log(1 + target))^2 over every element seen."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        self._add(*_mean_squared_log_error_update(preds, target))


class ExplainedVariance(Metric):
    """1 - Var(target - preds) / Var(target); `multioutput` combines several output columns:
    'uniform_average', 'raw_values' (one score per output) or 'variance_weighted'."""

    count: Tensor
    sum_error: Tensor
    sum_squared_error: Tensor
    sum_target: Tensor
    sum_squared_target: Tensor

    def __init__(
        self,
        multioutput: str = "uniform_average",
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: Any = None,
    ) -> None:
        super().__init__(compute_on_step, dist_sync_on_step, process_group, dist_sync_fn)
        check_multioutput(multioutput)
        self.multioutput = multioutput
        # the sums are float64 (see _explained_variance_update); the score has the inputs' dtype
        self._value_dtype = torch.get_default_dtype()
        self.add_state("count", torch.tensor(0), dist_reduce_fx="sum")
        for name in ("sum_error", "sum_squared_error", "sum_target", "sum_squared_target"):
            self.add_state(name, torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        count, sum_error, sum_sq_error, sum_target, sum_sq_target = _explained_variance_update(
            preds, target
        )
        self.count += count
        self._value_dtype = preds.dtype
        # out-of-place: the scalar defaults broadcast to one sum per output column
        self.sum_error = self.sum_error + sum_error
        self.sum_squared_error = self.sum_squared_error + sum_sq_error
        self.sum_target = self.sum_target + sum_target
        self.sum_squared_target = self.sum_squared_target + sum_sq_target

    def compute(self) -> Tensor:
        return _explained_variance_compute(
            self.count,
            self.sum_error,
            self.sum_squared_error,
            self.sum_target,
            self.sum_squared_target,
            self.multioutput,
        ).to(self._value_dtype)
