"""MeanSquaredError, MeanAbsoluteError, MeanSquaredLogError and ExplainedVariance agree with
torchmetrics."""

import math

import pytest
import torch
import torchmetrics
from hypothesis import given, settings

from tests.trainer_core.metrics.generated_inputs import Sizes, regression_batches, sizes
from tests.trainer_core.metrics.oracle import check_against_oracle
from trainer_core.metrics import (
    ExplainedVariance,
    MeanAbsoluteError,
    MeanSquaredError,
    MeanSquaredLogError,
    MetricDefinitionError,
)
from trainer_core.metrics import functional as F

EXAMPLES = settings(max_examples=25, deadline=None)


@EXAMPLES
@given(s=sizes())
def test_mean_squared_error_matches_torchmetrics(s: Sizes):
    check_against_oracle(
        MeanSquaredError().double(),
        torchmetrics.MeanSquaredError().double(),
        regression_batches(s, outputs=2),
        F.mean_squared_error,
    )


@EXAMPLES
@given(s=sizes())
def test_mean_absolute_error_matches_torchmetrics(s: Sizes):
    check_against_oracle(
        MeanAbsoluteError().double(),
        torchmetrics.MeanAbsoluteError().double(),
        regression_batches(s),
        F.mean_absolute_error,
    )


@EXAMPLES
@given(s=sizes())
def test_mean_squared_log_error_matches_torchmetrics(s: Sizes):
    # log1p needs values above -1: score the absolute values
    batches = [(p.abs(), t.abs()) for p, t in regression_batches(s, outputs=2)]
    check_against_oracle(
        MeanSquaredLogError().double(),
        torchmetrics.MeanSquaredLogError().double(),
        batches,
        F.mean_squared_log_error,
    )


def test_mean_squared_log_error_is_the_mean_squared_difference_of_log1p():
    preds, target = torch.tensor([0.0, math.e - 1.0]), torch.tensor([math.e - 1.0, 0.0])
    # log1p gives (0, 1) and (1, 0): both squared differences are 1
    assert torch.isclose(F.mean_squared_log_error(preds, target), torch.tensor(1.0))
    metric = MeanSquaredLogError()
    metric.update(preds, target)
    metric.update(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 0.0]))
    assert torch.isclose(metric.compute(), torch.tensor(0.5))


def test_explained_variance_of_float32_data_is_as_exact_as_two_pass_float64():
    # variances from running sums of squares lose digits to cancellation in float32; the sums
    # are float64, so each output's score matches a centred float64 computation to float32
    # rounding, and comes back as float32
    gen = torch.Generator().manual_seed(42)
    preds, target = torch.rand(16, 5, generator=gen), torch.rand(16, 5, generator=gen)
    p64, t64 = preds.double(), target.double()
    error = t64 - p64
    exact = 1 - (error - error.mean(0)).pow(2).mean(0) / (t64 - t64.mean(0)).pow(2).mean(0)
    score = F.explained_variance(preds, target, multioutput="raw_values")
    assert score.dtype == torch.float32
    assert torch.allclose(score.double(), exact, rtol=1e-6, atol=0)
    metric = ExplainedVariance(multioutput="raw_values")
    metric.update(preds[:7], target[:7])
    metric.update(preds[7:], target[7:])
    accumulated = metric.compute()
    assert accumulated.dtype == torch.float32
    assert torch.allclose(accumulated.double(), exact, rtol=1e-6, atol=0)


@pytest.mark.parametrize("metric_class", [MeanSquaredError, MeanSquaredLogError, ExplainedVariance])
def test_shape_mismatch_is_a_runtime_error_as_in_lightning(metric_class):
    with pytest.raises(RuntimeError, match="Predictions and targets are expected to have the same"):
        metric_class()(torch.rand(100), torch.rand(50))
    with pytest.raises(ValueError):  # and still a ValueError, as before
        metric_class()(torch.rand(100), torch.rand(50))


@pytest.mark.parametrize("multioutput", ["uniform_average", "raw_values", "variance_weighted"])
@EXAMPLES
@given(s=sizes(min_classes=1, max_classes=3))
def test_explained_variance_matches_torchmetrics(multioutput: str, s: Sizes):
    # ExplainedVariance is undefined (nan) on one sample in both: use batches of 2 or more
    batches = [(p, t) for p, t in regression_batches(s, outputs=s.num_classes) if len(t) > 1]
    if not batches:
        return
    check_against_oracle(
        ExplainedVariance(multioutput=multioutput).double(),
        torchmetrics.ExplainedVariance(multioutput=multioutput).double(),
        batches,
        lambda p, t: F.explained_variance(p, t, multioutput=multioutput),
    )


def test_float32_state_follows_float64_data():
    metric = MeanSquaredError()
    metric.update(
        torch.tensor([1.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
    )
    assert metric.compute().dtype == torch.float64


def test_perfect_fit_of_a_constant_target_explains_everything():
    target = torch.full((4,), 3.0)
    assert F.explained_variance(target.clone(), target) == 1.0


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"preds \(3, 1\) and target \(3,\)"):
        MeanSquaredError()(torch.rand(3, 1), torch.rand(3))


def test_integer_inputs_are_refused_with_a_conversion_hint():
    with pytest.raises(ValueError, match=r"target must be floating point.*target.float\(\)"):
        F.mean_absolute_error(torch.rand(3), torch.tensor([1, 2, 3]))


def test_explained_variance_refuses_more_than_two_dims():
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, outputs\), got \(2, 2, 2\)"):
        ExplainedVariance()(torch.rand(2, 2, 2), torch.rand(2, 2, 2))


def test_unknown_multioutput_is_refused():
    with pytest.raises(MetricDefinitionError, match=r"multioutput='mean'"):
        ExplainedVariance(multioutput="mean")
