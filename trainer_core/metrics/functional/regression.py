"""Mean squared (log) error, mean absolute error and explained variance from running sums."""

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError, MetricInputError
from trainer_core.metrics.functional.input_checks import check_same_shape, check_tensors

MULTIOUTPUTS = ("uniform_average", "raw_values", "variance_weighted")


def _check_regression_inputs(preds: Tensor, target: Tensor) -> None:
    check_tensors(preds, target)
    check_same_shape(preds, target)
    for name, t in (("preds", preds), ("target", target)):
        if not t.is_floating_point():
            raise MetricInputError(
                f"{name} must be floating point for a regression metric, got {t.dtype}; "
                f"convert it with {name}.float()"
            )


def _mean_squared_error_update(preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    _check_regression_inputs(preds, target)
    return (preds - target).pow(2).sum(), torch.tensor(target.numel(), device=target.device)


def _mean_absolute_error_update(preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    _check_regression_inputs(preds, target)
    return (preds - target).abs().sum(), torch.tensor(target.numel(), device=target.device)


def _mean_squared_log_error_update(preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    _check_regression_inputs(preds, target)
    log_error = torch.log1p(preds) - torch.log1p(target)
    return log_error.pow(2).sum(), torch.tensor(target.numel(), device=target.device)


def _mean_error_compute(sum_error: Tensor, count: Tensor) -> Tensor:
    return sum_error / count


def mean_squared_error(preds: Tensor, target: Tensor) -> Tensor:
    """MSE of one batch; the functional twin of `MeanSquaredError`."""
    return _mean_error_compute(*_mean_squared_error_update(preds, target))


def mean_absolute_error(preds: Tensor, target: Tensor) -> Tensor:
    """MAE of one batch; the functional twin of `MeanAbsoluteError`."""
    return _mean_error_compute(*_mean_absolute_error_update(preds, target))


def mean_squared_log_error(preds: Tensor, target: Tensor) -> Tensor:
    """Mean of (log(1 + preds) - log(1 + target))^2 over one batch; twin of `MeanSquaredLogError`."""
    return _mean_error_compute(*_mean_squared_log_error_update(preds, target))


def check_multioutput(multioutput: str) -> None:
    if multioutput not in MULTIOUTPUTS:
        raise MetricDefinitionError(
            f"multioutput={multioutput!r} is not supported; use one of {MULTIOUTPUTS}"
        )


def _explained_variance_update(
    preds: Tensor, target: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(count, sum of errors, sum of squared errors, sum of targets, sum of squared targets).

    Sums per output column, so batches and ranks combine by addition. They are float64: the
    variances come from differences of these sums, which float32 would cancel away.
    """
    _check_regression_inputs(preds, target)
    if preds.ndim > 2:
        raise MetricInputError(
            f"explained variance takes preds/target shaped (N,) or (N, outputs), got "
            f"{tuple(preds.shape)}; flatten the extra dims into the sample dim"
        )
    error = (target - preds).double()
    target = target.double()
    return (
        torch.tensor(target.shape[0], device=target.device),
        error.sum(dim=0),
        error.pow(2).sum(dim=0),
        target.sum(dim=0),
        target.pow(2).sum(dim=0),
    )


def _explained_variance_compute(
    count: Tensor,
    sum_error: Tensor,
    sum_squared_error: Tensor,
    sum_target: Tensor,
    sum_squared_target: Tensor,
    multioutput: str = "uniform_average",
) -> Tensor:
    """1 - Var(target - preds) / Var(target), per output, then combined by `multioutput`.

    As in scikit-learn: a perfect fit on a constant target scores 1, an imperfect one 0.
    """
    error_var = sum_squared_error / count - (sum_error / count) ** 2
    target_var = sum_squared_target / count - (sum_target / count) ** 2
    scores = torch.ones_like(target_var)
    defined = (error_var != 0) & (target_var != 0)
    scores[defined] = 1.0 - error_var[defined] / target_var[defined]
    scores[(error_var != 0) & (target_var == 0)] = 0.0
    if multioutput == "raw_values":
        return scores
    if multioutput == "uniform_average":
        return scores.mean()
    return (target_var / target_var.sum() * scores).sum()


def explained_variance(
    preds: Tensor, target: Tensor, multioutput: str = "uniform_average"
) -> Tensor:
    """Explained variance of one batch; the functional twin of `ExplainedVariance`."""
    check_multioutput(multioutput)
    score = _explained_variance_compute(*_explained_variance_update(preds, target), multioutput)
    return score.to(preds.dtype)
