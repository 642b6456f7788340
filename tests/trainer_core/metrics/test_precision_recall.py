"""Precision, Recall, F1 and FBeta agree with torchmetrics for every average; bad input refused."""

import pytest
import torch
import torchmetrics
from hypothesis import given, settings

from tests.trainer_core.metrics.generated_inputs import (
    Sizes,
    binary_batches,
    multiclass_extra_dim_batches,
    multiclass_label_batches,
    multiclass_score_batches,
    multilabel_batches,
    sizes,
)
from tests.trainer_core.metrics.oracle import check_against_oracle
from trainer_core.metrics import F1, FBeta, MetricDefinitionError, Precision, Recall
from trainer_core.metrics import functional as F

EXAMPLES = settings(max_examples=25, deadline=None)
AVERAGES = ["micro", "macro", "weighted", "none"]

# name -> (our class, our functional, torchmetrics class, extra kwargs for all three)
FAMILY = {
    "precision": (Precision, F.precision, torchmetrics.Precision, {}),
    "recall": (Recall, F.recall, torchmetrics.Recall, {}),
    "f1": (F1, F.f1, torchmetrics.F1Score, {}),
    "fbeta": (FBeta, F.fbeta, torchmetrics.FBetaScore, {"beta": 2.0}),
}


def _ours(name: str, **kwargs):
    cls, fn, _, extra = FAMILY[name]
    return cls(**kwargs, **extra), lambda p, t: fn(p, t, **kwargs, **extra)


def _theirs(name: str, **kwargs):
    _, _, tm_cls, extra = FAMILY[name]
    return tm_cls(**kwargs, **extra)


@pytest.mark.parametrize("name", FAMILY)
@EXAMPLES
@given(s=sizes())
def test_binary_matches_torchmetrics(name: str, s: Sizes):
    ours, functional = _ours(name, threshold=0.5)
    check_against_oracle(
        ours, _theirs(name, task="binary", threshold=0.5), binary_batches(s), functional
    )


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("name", FAMILY)
@EXAMPLES
@given(s=sizes())
def test_multiclass_scores_match_torchmetrics(name: str, average: str, s: Sizes):
    ours, functional = _ours(name, num_classes=s.num_classes, average=average)
    theirs = _theirs(name, task="multiclass", num_classes=s.num_classes, average=average)
    check_against_oracle(ours, theirs, multiclass_score_batches(s, logits=True), functional)


@pytest.mark.parametrize("average", ["micro", "macro"])
@EXAMPLES
@given(s=sizes())
def test_multiclass_with_extra_dims_matches_torchmetrics(average: str, s: Sizes):
    ours, functional = _ours("precision", num_classes=s.num_classes, average=average)
    theirs = _theirs("precision", task="multiclass", num_classes=s.num_classes, average=average)
    check_against_oracle(ours, theirs, multiclass_extra_dim_batches(s), functional)


@pytest.mark.parametrize("average", ["macro", "weighted"])
@EXAMPLES
@given(s=sizes())
def test_multiclass_labels_match_torchmetrics(average: str, s: Sizes):
    ours, functional = _ours("f1", num_classes=s.num_classes, average=average)
    theirs = _theirs("f1", task="multiclass", num_classes=s.num_classes, average=average)
    check_against_oracle(ours, theirs, multiclass_label_batches(s), functional)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("name", FAMILY)
@EXAMPLES
@given(s=sizes())
def test_multilabel_matches_torchmetrics(name: str, average: str, s: Sizes):
    ours, functional = _ours(
        name, num_classes=s.num_classes, multilabel=True, average=average, threshold=0.4
    )
    theirs = _theirs(
        name, task="multilabel", num_labels=s.num_classes, average=average, threshold=0.4
    )
    check_against_oracle(ours, theirs, multilabel_batches(s), functional)


def test_macro_skips_classes_never_predicted_nor_present():
    # class 2 of 3 never occurs: macro precision averages classes 0 and 1 only
    preds, target = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0])
    assert F.precision(preds, target, num_classes=3, average="macro") == pytest.approx(0.75)


def test_float_preds_of_target_shape_need_multilabel():
    with pytest.raises(ValueError, match=r"floating point.*num_classes=3.*multilabel=True"):
        Precision(num_classes=3)(torch.rand(4), torch.tensor([0, 1, 2, 1]))


def test_multilabel_preds_must_have_one_column_per_label():
    with pytest.raises(ValueError, match=r"multilabel preds \(4, 2\).*num_classes=3"):
        Recall(num_classes=3, multilabel=True)(torch.rand(4, 2), torch.randint(0, 2, (4, 2)))


def test_multiclass_predicted_label_beyond_num_classes_is_refused():
    with pytest.raises(ValueError, match=r"preds holds class ids in \[0, 3\].*num_classes=3"):
        F.f1(torch.tensor([0, 3]), torch.tensor([0, 1]), num_classes=3)


def test_binary_probabilities_outside_unit_interval_are_refused():
    with pytest.raises(ValueError, match=r"outside \[0, 1\] \(min -1"):
        F1()(torch.tensor([-1.0, 0.5]), torch.tensor([0, 1]))


def test_unknown_average_is_refused_at_construction():
    with pytest.raises(MetricDefinitionError, match=r"average='samples'.*'micro'"):
        FBeta(num_classes=3, average="samples")


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_binary_float_targets_of_zeros_and_ones_are_accepted(beta: float):
    # Lightning 1.0.8 scores 0./1. float targets for binary data; tp=1, fp=1, fn=1
    preds, target = torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0.0, 1.0, 1.0, 0.0])
    assert F.fbeta(preds, target, num_classes=1, beta=beta) == 0.5
    assert F.f1(preds, target.bool(), num_classes=1) == 0.5


def test_binary_float_targets_must_still_be_zero_or_one():
    with pytest.raises(ValueError, match=r"target must hold only 0 and 1"):
        F.f1(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 1.0]), num_classes=1)


def test_binary_average_none_gives_one_score_per_class():
    # as Lightning 1.0.8: a one-item tensor (the other averages give a 0-d tensor)
    preds, target = torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([1.0, 0.0, 1.0, 0.0])
    score = F.f1(preds, target, num_classes=1, average="none")
    assert score.shape == (1,) and score.item() == 1.0
    assert F.precision(preds, target, num_classes=1, average="macro").shape == ()
