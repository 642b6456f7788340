"""ConfusionMatrix agrees with torchmetrics for counts and every normalisation."""

import pytest
import torch
import torchmetrics
from hypothesis import given, settings

from tests.trainer_core.metrics.generated_inputs import (
    Sizes,
    binary_batches,
    multiclass_label_batches,
    multiclass_score_batches,
    sizes,
)
from tests.trainer_core.metrics.oracle import check_against_oracle
from trainer_core.metrics import ConfusionMatrix, MetricDefinitionError
from trainer_core.metrics.functional import confusion_matrix

EXAMPLES = settings(max_examples=25, deadline=None)
NORMALIZATIONS = [None, "true", "pred", "all"]
# torchmetrics warns when it zeroes an empty row/column; we zero it quietly
pytestmark = pytest.mark.filterwarnings("ignore:.*NaN values found in confusion matrix")


@pytest.mark.parametrize("normalize", NORMALIZATIONS)
@EXAMPLES
@given(s=sizes())
def test_multiclass_scores_match_torchmetrics(normalize, s: Sizes):
    check_against_oracle(
        ConfusionMatrix(s.num_classes, normalize=normalize),
        torchmetrics.ConfusionMatrix(
            task="multiclass", num_classes=s.num_classes, normalize=normalize
        ),
        multiclass_score_batches(s, logits=True),
        lambda p, t: confusion_matrix(p, t, s.num_classes, normalize=normalize),
    )


@EXAMPLES
@given(s=sizes())
def test_multiclass_labels_match_torchmetrics(s: Sizes):
    check_against_oracle(
        ConfusionMatrix(s.num_classes),
        torchmetrics.ConfusionMatrix(task="multiclass", num_classes=s.num_classes),
        multiclass_label_batches(s),
        lambda p, t: confusion_matrix(p, t, s.num_classes),
    )


@pytest.mark.parametrize("normalize", NORMALIZATIONS)
@EXAMPLES
@given(s=sizes())
def test_binary_probabilities_match_torchmetrics(normalize, s: Sizes):
    check_against_oracle(
        ConfusionMatrix(2, normalize=normalize),
        torchmetrics.ConfusionMatrix(task="binary", normalize=normalize),
        binary_batches(s),
        lambda p, t: confusion_matrix(p, t, 2, normalize=normalize),
    )


def test_rows_are_actual_classes_and_columns_predicted():
    confmat = confusion_matrix(torch.tensor([1, 1, 0]), torch.tensor([0, 1, 0]), num_classes=2)
    assert confmat.tolist() == [[1, 1], [0, 1]]


def test_counts_stay_integers():
    assert confusion_matrix(torch.tensor([1]), torch.tensor([0]), 2).dtype == torch.long


def test_wrong_number_of_class_scores_is_refused():
    with pytest.raises(ValueError, match=r"carry 3 class scores.*num_classes=4"):
        ConfusionMatrix(4)(torch.randn(5, 3), torch.randint(0, 3, (5,)))


def test_one_class_is_not_a_confusion_matrix():
    with pytest.raises(MetricDefinitionError, match=r"at least 2 classes.*num_classes=2"):
        ConfusionMatrix(1)


def test_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match=r"normalize='rows'"):
        ConfusionMatrix(3, normalize="rows")
