"""Accuracy agrees with torchmetrics batch by batch and accumulated, and rejects bad input."""

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
from trainer_core.metrics import Accuracy, MetricInputError
from trainer_core.metrics.functional import accuracy

EXAMPLES = settings(max_examples=25, deadline=None)


@EXAMPLES
@given(sizes())
def test_binary_probabilities_match_torchmetrics(s: Sizes):
    check_against_oracle(
        Accuracy(),
        torchmetrics.Accuracy(task="binary", threshold=0.5),
        binary_batches(s),
        accuracy,
    )


@EXAMPLES
@given(sizes())
def test_multiclass_logits_match_torchmetrics(s: Sizes):
    check_against_oracle(
        Accuracy(num_classes=s.num_classes),
        torchmetrics.Accuracy(task="multiclass", num_classes=s.num_classes, average="micro"),
        multiclass_score_batches(s, logits=True),
        accuracy,
    )


@EXAMPLES
@given(sizes())
def test_multiclass_probabilities_match_torchmetrics(s: Sizes):
    check_against_oracle(
        Accuracy(),
        torchmetrics.Accuracy(task="multiclass", num_classes=s.num_classes, average="micro"),
        multiclass_score_batches(s, logits=False),
        accuracy,
    )


@EXAMPLES
@given(sizes())
def test_multiclass_labels_match_torchmetrics(s: Sizes):
    check_against_oracle(
        Accuracy(num_classes=s.num_classes),
        torchmetrics.Accuracy(task="multiclass", num_classes=s.num_classes, average="micro"),
        multiclass_label_batches(s),
        lambda p, t: accuracy(p, t, num_classes=s.num_classes),
    )


@EXAMPLES
@given(sizes(min_classes=3, max_classes=8))
def test_multiclass_top_k_matches_torchmetrics(s: Sizes):
    k = 2
    check_against_oracle(
        Accuracy(top_k=k),
        torchmetrics.Accuracy(
            task="multiclass", num_classes=s.num_classes, average="micro", top_k=k
        ),
        multiclass_score_batches(s, logits=True),
        lambda p, t: accuracy(p, t, top_k=k),
    )


@EXAMPLES
@given(sizes())
def test_multilabel_is_element_wise_and_matches_torchmetrics(s: Sizes):
    threshold = 0.3
    check_against_oracle(
        Accuracy(threshold=threshold),
        torchmetrics.Accuracy(
            task="multilabel", num_labels=s.num_classes, average="micro", threshold=threshold
        ),
        multilabel_batches(s),
        lambda p, t: accuracy(p, t, threshold=threshold),
    )


@EXAMPLES
@given(sizes())
def test_multiclass_with_extra_dims_matches_torchmetrics(s: Sizes):
    check_against_oracle(
        Accuracy(),
        torchmetrics.Accuracy(task="multiclass", num_classes=s.num_classes, average="micro"),
        multiclass_extra_dim_batches(s),
        accuracy,
    )


def test_probability_at_threshold_counts_as_positive_like_lightning_1_0():
    assert accuracy(torch.tensor([0.5, 0.2]), torch.tensor([1, 0])) == 1.0


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"preds \(4,\) and target \(5,\)"):
        Accuracy()(torch.rand(4), torch.randint(0, 2, (5,)))


def test_probabilities_outside_unit_interval_are_refused_with_a_hint():
    with pytest.raises(MetricInputError, match=r"outside \[0, 1\].*max 2.*torch.sigmoid"):
        accuracy(torch.tensor([0.2, 2.0]), torch.tensor([0, 1]))


def test_class_id_beyond_num_classes_is_refused():
    with pytest.raises(ValueError, match=r"target holds class ids in \[1, 7\].*num_classes=5"):
        accuracy(torch.tensor([0, 1]), torch.tensor([7, 1]), num_classes=5)


def test_wrong_number_of_class_scores_is_refused():
    with pytest.raises(ValueError, match=r"carry 4 class scores.*num_classes=3"):
        Accuracy(num_classes=3)(torch.randn(6, 4), torch.randint(0, 3, (6,)))


def test_target_label_beyond_score_columns_is_refused():
    with pytest.raises(ValueError, match=r"class ids in \[\d, 4\].*num_classes=4"):
        accuracy(torch.randn(3, 4), torch.tensor([0, 4, 1]))


def test_float_target_is_refused():
    with pytest.raises(ValueError, match=r"integer class labels.*target.long\(\)"):
        accuracy(torch.rand(3), torch.tensor([0.0, 1.0, 1.0]))


def test_non_binary_target_with_probabilities_is_refused():
    with pytest.raises(ValueError, match=r"only 0 and 1.*found \[2\]"):
        accuracy(torch.rand(3), torch.tensor([0, 2, 1]))


def test_top_k_needs_class_scores():
    with pytest.raises(ValueError, match=r"top_k=2 needs class scores"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0, 1]), top_k=2)


def test_rank_mismatch_explains_expected_layouts():
    with pytest.raises(ValueError, match=r"preds \(2, 3, 4, 5\) and target \(2,\) do not fit"):
        accuracy(torch.randn(2, 3, 4, 5), torch.tensor([0, 1]))
