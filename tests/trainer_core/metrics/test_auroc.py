"""AUROC agrees with torchmetrics (binary and one-vs-rest multiclass) and refuses bad input."""

import pytest
import torch
import torchmetrics
from hypothesis import given, settings

from tests.trainer_core.metrics.generated_inputs import (
    Sizes,
    binary_batches,
    multiclass_score_batches,
    sizes,
)
from tests.trainer_core.metrics.oracle import check_against_oracle
from trainer_core.metrics import AUROC
from trainer_core.metrics.functional import auroc

EXAMPLES = settings(max_examples=25, deadline=None)


def _with_both_classes(batches):
    # a batch with one class only has no AUROC; both implementations then warn and give 0
    return [(p, t) for p, t in batches if 0 < int(t.sum()) < len(t)] or batches[:0]


@EXAMPLES
@given(s=sizes())
def test_binary_probabilities_match_torchmetrics(s: Sizes):
    batches = _with_both_classes(binary_batches(s))
    if not batches:
        return
    check_against_oracle(AUROC(), torchmetrics.AUROC(task="binary"), batches, auroc)


@EXAMPLES
@given(s=sizes())
def test_binary_scores_with_ties_match_torchmetrics(s: Sizes):
    # rounding makes many ties: the tie handling (half credit) must agree
    batches = _with_both_classes([(p.mul(4).round() / 4, t) for p, t in binary_batches(s)])
    if not batches:
        return
    check_against_oracle(AUROC(), torchmetrics.AUROC(task="binary"), batches, auroc)


@pytest.mark.parametrize("average", ["macro", "weighted", None])
@EXAMPLES
@given(s=sizes(max_batch=32))
def test_multiclass_probabilities_match_torchmetrics(average, s: Sizes):
    batches = [
        (p, t)
        for p, t in multiclass_score_batches(s, logits=False)
        if len(t) >= s.num_classes  # every class present (see generated_inputs)
    ]
    if not batches:
        return
    check_against_oracle(
        AUROC(num_classes=s.num_classes, average=average),
        torchmetrics.AUROC(task="multiclass", num_classes=s.num_classes, average=average),
        batches,
        lambda p, t: auroc(p, t, num_classes=s.num_classes, average=average),
    )


def test_perfect_ranking_scores_one():
    assert auroc(torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([0, 0, 1, 1])) == 1.0


def test_one_class_only_warns_and_scores_zero():
    with pytest.warns(UserWarning, match="without negative samples"):
        assert auroc(torch.tensor([0.3, 0.6]), torch.tensor([1, 1])) == 0.0


def test_multiclass_logits_are_refused_with_a_softmax_hint():
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*torch.softmax"):
        AUROC(num_classes=3)(torch.randn(4, 3) * 5, torch.tensor([0, 1, 2, 0]))


def test_multiclass_needs_class_scores():
    with pytest.raises(ValueError, match=r"needs class scores shaped \(N, C, ...\).*\(4,\)"):
        auroc(torch.rand(4), torch.tensor([0, 1, 2, 0]), num_classes=3)


def test_binary_target_must_be_zero_or_one():
    with pytest.raises(ValueError, match=r"only 0 and 1.*found \[2\]"):
        AUROC()(torch.rand(3), torch.tensor([0, 1, 2]))


def test_state_grows_by_concatenation_not_by_summing():
    metric = AUROC()
    metric.update(torch.tensor([0.2, 0.7]), torch.tensor([0, 1]))
    metric.update(torch.tensor([0.9, 0.1]), torch.tensor([0, 1]))
    assert len(metric.preds) == 2
    assert metric.compute() == auroc(torch.tensor([0.2, 0.7, 0.9, 0.1]), torch.tensor([0, 1, 0, 1]))
