"""Lightning 1.0's Dice and IoU scores (`metrics.functional.classification`), its reductions
(`metrics.functional.reduction`) and `metrics.functional.self_supervised.embedding_similarity`."""

from __future__ import annotations

import pytest
import torch

from trainer_core.metrics import MetricInputError
from trainer_core.metrics.functional.classification import dice_score, iou
from trainer_core.metrics.functional.reduction import class_reduce, reduce
from trainer_core.metrics.functional.self_supervised import embedding_similarity

# per class: tp [1, 1, 1], fp [1, 0, 1], fn [0, 2, 0]
PRED = torch.tensor([0, 1, 2, 0, 2])
TARGET = torch.tensor([0, 1, 2, 1, 1])


def test_iou_per_class_is_tp_over_tp_fp_fn() -> None:
    assert iou(PRED, TARGET, reduction="none").tolist() == pytest.approx([1 / 2, 1 / 3, 1 / 2])
    assert iou(PRED, TARGET).item() == pytest.approx(4 / 9)
    assert iou(PRED, TARGET, reduction="sum").item() == pytest.approx(4 / 3)


def test_iou_ignore_index_drops_that_class_only_when_it_is_a_class() -> None:
    assert iou(PRED, TARGET, ignore_index=1, reduction="none").tolist() == [0.5, 0.5]
    assert iou(PRED, TARGET, ignore_index=7, reduction="none").numel() == 3


def test_iou_gives_absent_score_to_classes_in_neither_pred_nor_target() -> None:
    with pytest.warns(RuntimeWarning, match="You have set 4 number of classes"):
        scores = iou(PRED, TARGET, num_classes=4, absent_score=-1.0, reduction="none")
    assert scores.tolist() == pytest.approx([1 / 2, 1 / 3, 1 / 2, -1])


def test_iou_input_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"'pred' shape \(\(2, 2\)\) must equal 'target' shape"):
        iou(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="'pred' must contain integer targets"):
        iou(torch.tensor([0.5, 1.0]), torch.tensor([0, 1]))


def test_dice_score_leaves_the_background_class_out_by_default() -> None:
    # dice = 2 tp / (2 tp + fp + fn): classes [2/3, 1/2, 2/3]
    assert dice_score(PRED, TARGET).item() == pytest.approx((1 / 2 + 2 / 3) / 2)
    per_class = dice_score(PRED, TARGET, bg=True, reduction="none")
    assert per_class.tolist() == pytest.approx([2 / 3, 1 / 2, 2 / 3])


def test_dice_score_of_class_scores_uses_their_class_dim() -> None:
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])  # argmax 0, 1, 1
    # class 2 never occurs in target: no_fg_score
    result = dice_score(scores, torch.tensor([0, 1, 0]), no_fg_score=-1.0, reduction="none")
    assert result.tolist() == pytest.approx([2 / 3, -1])


def test_reduce_folds_a_tensor_or_names_the_valid_reductions() -> None:
    values = torch.tensor([1.0, 2.0, 6.0])
    assert reduce(values, "elementwise_mean").item() == 3.0
    assert reduce(values, "sum").item() == 9.0
    assert reduce(values, "none") is values
    with pytest.raises(ValueError, match="elementwise_mean"):
        reduce(values, "mean")


def test_class_reduce_micro_macro_weighted_and_per_class() -> None:
    num, denom, weights = (
        torch.tensor([1.0, 3.0]),
        torch.tensor([2.0, 4.0]),
        torch.tensor([1.0, 3.0]),
    )
    assert class_reduce(num, denom, weights, "micro").item() == pytest.approx(4 / 6)
    assert class_reduce(num, denom, weights, "macro").item() == pytest.approx(0.625)
    assert class_reduce(num, denom, weights, "weighted").item() == pytest.approx(
        0.5 / 4 + 0.75 * 3 / 4
    )
    assert class_reduce(num, denom, weights, "none").tolist() == [0.5, 0.75]
    assert class_reduce(num, denom, weights, None).tolist() == [0.5, 0.75]
    with pytest.raises(ValueError, match="class_reduction='mean'"):
        class_reduce(num, denom, weights, "mean")


def test_class_reduce_counts_an_empty_class_as_zero() -> None:
    num, denom = torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0])
    assert class_reduce(num, denom, denom, "none").tolist() == [0.0, 0.5]
    assert class_reduce(num, denom, denom, "macro").item() == 0.25
    assert class_reduce(torch.zeros(2), torch.zeros(2), torch.ones(2), "micro").item() == 0.0


def test_embedding_similarity_cosine_and_dot() -> None:
    batch = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    cosine = embedding_similarity(batch, zero_diagonal=False)
    half = 2**-0.5
    expected = torch.tensor([[1, half, 0], [half, 1, half], [0, half, 1]])
    assert torch.allclose(cosine, expected)
    dot = embedding_similarity(batch, similarity="dot")
    assert dot.tolist() == [[0, 1, 0], [1, 0, 2], [0, 2, 0]]  # the diagonal zeroed by default


def test_embedding_similarity_row_reductions() -> None:
    batch = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    assert embedding_similarity(batch, "dot", "sum").tolist() == [1, 3, 2]
    assert embedding_similarity(batch, "dot", "mean").tolist() == pytest.approx([1 / 3, 1, 2 / 3])


def test_embedding_similarity_rejects_unknown_arguments_and_shapes() -> None:
    batch = torch.ones(2, 3)
    with pytest.raises(ValueError, match="similarity='euclid'"):
        embedding_similarity(batch, similarity="euclid")
    with pytest.raises(ValueError, match="reduction='max'"):
        embedding_similarity(batch, reduction="max")
    with pytest.raises(MetricInputError, match=r"\(batch, dim\)"):
        embedding_similarity(torch.ones(2, 3, 4))
