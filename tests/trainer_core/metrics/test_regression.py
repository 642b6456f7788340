"""MeanSquaredError, MeanAbsoluteError and ExplainedVariance agree with torchmetrics."""

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
