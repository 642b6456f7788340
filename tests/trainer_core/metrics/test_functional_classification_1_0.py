"""Lightning 1.0's functional classification API (`metrics.functional.classification`):
label helpers, per-class counts, and accuracy/precision/recall/confusion matrix with 1.0's
signatures (labels or class scores in, classes inferred, `class_reduction`)."""

from __future__ import annotations

import pytest
import torch

from trainer_core.metrics import MetricInputError
from trainer_core.metrics.functional import accuracy as newer_accuracy
from trainer_core.metrics.functional.classification import (
    accuracy,
    confusion_matrix,
    get_num_classes,
    precision,
    precision_recall,
    recall,
    stat_scores,
    stat_scores_multiple_classes,
    to_categorical,
    to_onehot,
)

# 3 classes; per class: tp [1, 1, 1], fp [1, 0, 1], fn [0, 2, 0], support [1, 3, 1]
PRED = torch.tensor([0, 1, 2, 0, 2])
TARGET = torch.tensor([0, 1, 2, 1, 1])


def test_to_onehot_puts_the_class_dim_second_and_keeps_the_dtype() -> None:
    onehot = to_onehot(torch.tensor([[2, 0], [1, 1]]))
    assert onehot.shape == (2, 3, 2) and onehot.dtype == torch.long
    assert onehot[0].tolist() == [[0, 1], [0, 0], [1, 0]]
    assert onehot[1].tolist() == [[0, 0], [1, 1], [0, 0]]
    floats = to_onehot(torch.tensor([1.0, 0.0]), num_classes=3)
    assert floats.dtype == torch.float32 and floats.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_to_onehot_rejects_labels_it_cannot_encode() -> None:
    with pytest.raises(MetricInputError, match="num_classes=2"):
        to_onehot(torch.tensor([0, 2]), num_classes=2)
    with pytest.raises(MetricInputError, match="negative"):
        to_onehot(torch.tensor([0, -1]))
    with pytest.raises(MetricInputError, match="non-integer"):
        to_onehot(torch.tensor([0.5]))


def test_to_categorical_is_the_argmax_over_the_class_dim() -> None:
    scores = torch.tensor([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    assert to_categorical(scores).tolist() == [1, 0]
    assert to_categorical(scores, argmax_dim=0).tolist() == [1, 0, 0]


def test_get_num_classes_is_the_largest_label_plus_one_and_warns_on_a_mismatch() -> None:
    assert get_num_classes(torch.tensor([0, 3]), torch.tensor([1, 1])) == 4
    assert get_num_classes(torch.tensor([0, 1]), torch.tensor([4, 1])) == 5
    with pytest.warns(
        RuntimeWarning, match=r"You have set 7 number of classes .* \(4\) and target \(2\)"
    ):
        assert get_num_classes(torch.tensor([3]), torch.tensor([1]), num_classes=7) == 7


def test_stat_scores_counts_one_class_from_labels_or_scores() -> None:
    tp, fp, tn, fn, sup = stat_scores(PRED, TARGET, class_index=1)
    assert (tp.item(), fp.item(), tn.item(), fn.item(), sup.item()) == (1, 0, 2, 2, 3)
    scores = to_onehot(PRED).float()  # argmax of one-hot scores gives PRED back
    assert [v.item() for v in stat_scores(scores, TARGET, class_index=2)] == [1, 1, 3, 0, 1]


def test_stat_scores_multiple_classes_counts_every_class() -> None:
    tp, fp, tn, fn, sup = stat_scores_multiple_classes(PRED, TARGET)
    assert tp.tolist() == [1, 1, 1] and fp.tolist() == [1, 0, 1]
    assert tn.tolist() == [3, 2, 3] and fn.tolist() == [0, 2, 0]
    assert sup.tolist() == [1, 3, 1] and tp.dtype == torch.float32


def test_stat_scores_multiple_classes_reductions_fold_over_the_classes() -> None:
    sums = stat_scores_multiple_classes(PRED, TARGET, reduction="sum")
    assert [v.item() for v in sums] == [3, 2, 8, 2, 5]
    means = stat_scores_multiple_classes(PRED, TARGET, reduction="elementwise_mean")
    assert [v.item() for v in means] == pytest.approx([1, 2 / 3, 8 / 3, 2 / 3, 5 / 3])
    with pytest.raises(ValueError, match="reduction='max'"):
        stat_scores_multiple_classes(PRED, TARGET, reduction="max")


def test_labels_beyond_num_classes_belong_to_no_class() -> None:
    with pytest.warns(RuntimeWarning):
        tp, fp, tn, fn, sup = stat_scores_multiple_classes(PRED, TARGET, num_classes=2)
    assert tp.tolist() == [1, 1] and fp.tolist() == [1, 0] and sup.tolist() == [1, 3]
    assert tn.tolist() == [3, 2] and fn.tolist() == [0, 2]


def test_float_labels_must_be_whole_numbers() -> None:
    tp, *_ = stat_scores_multiple_classes(PRED.float(), TARGET.float())
    assert tp.tolist() == [1, 1, 1]
    with pytest.raises(MetricInputError, match="pred holds non-integer values"):
        stat_scores_multiple_classes(torch.tensor([0.3, 0.9]), torch.tensor([0, 1]))


def test_accuracy_reduces_per_class_hits_over_support() -> None:
    assert accuracy(PRED, TARGET).item() == pytest.approx(3 / 5)
    assert accuracy(PRED, TARGET, class_reduction="macro").item() == pytest.approx(
        (1 + 1 / 3 + 1) / 3
    )
    assert accuracy(PRED, TARGET, class_reduction="weighted").item() == pytest.approx(3 / 5)
    assert accuracy(PRED, TARGET, class_reduction="none").tolist() == pytest.approx([1, 1 / 3, 1])


def test_accuracy_of_class_scores_argmaxes_them() -> None:
    scores = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert accuracy(scores, torch.tensor([0, 1, 1])).item() == pytest.approx(2 / 3)


def test_accuracy_return_state_gives_the_counts_to_sum_across_processes() -> None:
    state = accuracy(PRED, TARGET, None, "micro", True)
    assert state["tps"].tolist() == [1, 1, 1] and state["sups"].tolist() == [1, 3, 1]


def test_accuracy_of_a_class_without_support_is_zero_not_nan() -> None:
    with pytest.warns(RuntimeWarning):
        per_class = accuracy(torch.tensor([0, 1]), torch.tensor([0, 1]), 3, "none")
    assert per_class.tolist() == [1, 1, 0]


def test_trainer_core_functional_accuracy_keeps_its_newer_signature() -> None:
    probabilities = torch.tensor([0.8, 0.3, 0.6])
    assert newer_accuracy(
        probabilities, torch.tensor([1, 0, 0]), threshold=0.5
    ).item() == pytest.approx(2 / 3)


def test_precision_and_recall_per_class_and_reduced() -> None:
    assert precision(PRED, TARGET, class_reduction="none").tolist() == pytest.approx([0.5, 1, 0.5])
    assert recall(PRED, TARGET, class_reduction="none").tolist() == pytest.approx([1, 1 / 3, 1])
    assert precision(PRED, TARGET).item() == pytest.approx(3 / 5)  # micro: hits over samples
    assert precision(PRED, TARGET, class_reduction="macro").item() == pytest.approx(2 / 3)
    # weighted by the support [1, 3, 1]
    assert precision(PRED, TARGET, class_reduction="weighted").item() == pytest.approx(
        (0.5 + 3 + 0.5) / 5
    )


def test_precision_recall_returns_both_and_optionally_support_or_state() -> None:
    p, r = precision_recall(PRED, TARGET, class_reduction="macro")
    assert (p.item(), r.item()) == pytest.approx((2 / 3, 7 / 9))
    p, r, sup = precision_recall(PRED, TARGET, return_support=True)
    assert sup.tolist() == [1, 3, 1]
    state = precision_recall(PRED, TARGET, return_state=True)
    assert isinstance(state, dict) and state["fns"].tolist() == [0, 2, 0]
    with pytest.raises(ValueError, match="class_reduction='average'"):
        precision(PRED, TARGET, class_reduction="average")


def test_precision_of_a_never_predicted_class_is_zero() -> None:
    per_class = precision(torch.tensor([0, 0]), torch.tensor([0, 1]), class_reduction="none")
    assert per_class.tolist() == [0.5, 0.0]


def test_confusion_matrix_rows_are_actual_columns_predicted() -> None:
    cm = confusion_matrix(PRED, TARGET)
    assert cm.dtype == torch.float32
    assert cm.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 1]]


def test_confusion_matrix_normalize_divides_each_row_by_its_total() -> None:
    cm = confusion_matrix(PRED, TARGET, normalize=True)
    assert cm[1].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert cm[0].tolist() == [1, 0, 0]


def test_confusion_matrix_warns_when_a_row_has_no_samples() -> None:
    with pytest.warns(UserWarning, match="2 nan values .* replaced with zeros"):
        cm = confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 0]), normalize=True)
    assert cm.tolist() == [[0.5, 0.5], [0, 0]]


def test_confusion_matrix_rejects_labels_beyond_num_classes() -> None:
    with pytest.raises(MetricInputError, match="num_classes=2"), pytest.warns(RuntimeWarning):
        confusion_matrix(torch.tensor([0, 2]), torch.tensor([0, 1]), num_classes=2)


def test_confusion_matrix_of_class_scores_argmaxes_them() -> None:
    scores = torch.tensor([[0.1, 0.9], [0.7, 0.3]])
    assert confusion_matrix(scores, torch.tensor([1, 1])).tolist() == [[0, 0], [1, 1]]
