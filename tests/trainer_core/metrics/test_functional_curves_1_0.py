"""Lightning 1.0's threshold curves (`metrics.functional.classification`): ROC and
precision-recall points at every distinct score, and the areas under them."""

from __future__ import annotations

import pytest
import torch

from trainer_core.metrics import MetricInputError
from trainer_core.metrics.functional.classification import (
    _binary_clf_curve,
    auroc,
    average_precision,
    multiclass_precision_recall_curve,
    multiclass_roc,
    precision_recall_curve,
    roc,
)

SCORES = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.4])
TARGET = torch.tensor([0, 0, 1, 1, 1])


def _counts_by_threshold(scores: torch.Tensor, positive: torch.Tensor, weights: torch.Tensor):
    """Reference: (fp, tp) of `score >= t` for each distinct t, highest first, by brute force."""
    thresholds = torch.unique(scores).flip(0)
    fps = torch.stack([(weights * ~positive * (scores >= t)).sum() for t in thresholds])
    tps = torch.stack([(weights * positive * (scores >= t)).sum() for t in thresholds])
    return fps, tps, thresholds


def test_binary_clf_curve_counts_the_samples_at_or_above_each_distinct_score() -> None:
    fps, tps, thresholds = _binary_clf_curve(SCORES, TARGET)
    assert thresholds.tolist() == pytest.approx([0.8, 0.4, 0.35, 0.1])
    assert tps.tolist() == [1, 2, 3, 3]
    assert fps.tolist() == [0, 1, 1, 2]


def test_binary_clf_curve_matches_brute_force_with_weights_and_pos_label() -> None:
    generator = torch.Generator().manual_seed(3)
    scores = torch.randint(0, 12, (200,), generator=generator).float() / 12  # many ties
    target = torch.randint(0, 3, (200,), generator=generator)
    weights = torch.rand(200, generator=generator)
    fps, tps, thresholds = _binary_clf_curve(scores, target, weights, pos_label=2)
    ref_fps, ref_tps, ref_thresholds = _counts_by_threshold(scores, target == 2, weights)
    assert torch.equal(thresholds, ref_thresholds)
    assert torch.allclose(fps, ref_fps) and torch.allclose(tps, ref_tps)
    # a list of weights works the same as a tensor
    fps_from_list, _, _ = _binary_clf_curve(scores, target, weights.tolist(), pos_label=2)
    assert torch.allclose(fps_from_list, ref_fps)


def test_binary_clf_curve_takes_a_single_score_column() -> None:
    fps, tps, _ = _binary_clf_curve(SCORES.unsqueeze(1), TARGET)
    assert tps.tolist() == [1, 2, 3, 3] and fps.tolist() == [0, 1, 1, 2]


def test_binary_curves_reject_class_scores_and_mismatched_weights() -> None:
    with pytest.raises(MetricInputError, match="multiclass_roc"):
        roc(torch.rand(5, 3), TARGET)
    with pytest.raises(MetricInputError, match="one weight per sample"):
        roc(SCORES, TARGET, sample_weight=[1.0, 2.0])


def test_roc_starts_at_the_origin_above_the_highest_score() -> None:
    fpr, tpr, thresholds = roc(SCORES, TARGET)
    assert fpr.tolist() == pytest.approx([0, 0, 0.5, 0.5, 1])
    assert tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1])
    assert thresholds.tolist() == pytest.approx([1.8, 0.8, 0.4, 0.35, 0.1])


def test_roc_keeps_integer_thresholds() -> None:
    _, _, thresholds = roc(torch.tensor([3, 1, 2]), torch.tensor([1, 0, 1]))
    assert thresholds.tolist() == [4, 3, 2, 1] and thresholds.dtype == torch.long


def test_roc_needs_both_classes_in_target() -> None:
    with pytest.raises(ValueError, match="no negative samples"):
        roc(SCORES, torch.ones(5, dtype=torch.long))
    with pytest.raises(ValueError, match="no positive samples"):
        roc(SCORES, torch.zeros(5, dtype=torch.long))


def test_precision_recall_curve_by_increasing_threshold_ending_at_recall_zero() -> None:
    precision, recall, thresholds = precision_recall_curve(SCORES, TARGET)
    # stops at 0.35, the first threshold reaching full recall; 0.1 adds nothing
    assert thresholds.tolist() == pytest.approx([0.35, 0.4, 0.8])
    assert precision.tolist() == pytest.approx([3 / 4, 2 / 3, 1, 1])
    assert recall.tolist() == pytest.approx([1, 2 / 3, 1 / 3, 0])


def test_precision_recall_curve_needs_positives() -> None:
    with pytest.raises(ValueError, match="no positive samples"):
        precision_recall_curve(SCORES, torch.zeros(5, dtype=torch.long))


def test_auroc_is_the_trapezoid_area_under_roc() -> None:
    # fpr [0, 0, .5, .5, 1], tpr [0, 1/3, 2/3, 1, 1]: 0.5 * 0.5 + 0.5 * 1
    assert auroc(SCORES, TARGET).item() == pytest.approx(0.75)
    assert auroc(torch.tensor([0.5, 0.5]), torch.tensor([0, 1])).item() == 0.5


def test_auroc_equals_the_share_of_positive_negative_pairs_ranked_right() -> None:
    generator = torch.Generator().manual_seed(5)
    scores = torch.randint(0, 6, (60,), generator=generator).float()  # ties count half
    target = torch.randint(0, 2, (60,), generator=generator)
    pos, neg = scores[target == 1], scores[target == 0]
    pairs = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()
    assert auroc(scores, target).item() == pytest.approx(pairs.mean().item())


def test_auroc_pos_label_zero_scores_the_zeros_as_positives() -> None:
    assert auroc(-SCORES, TARGET, pos_label=0).item() == pytest.approx(0.75)


def test_auroc_refuses_multiclass_targets() -> None:
    with pytest.raises(ValueError, match="AUROC metric is meant for binary classification"):
        auroc(SCORES, torch.tensor([0, 1, 2, 1, 0]))


def test_average_precision_weights_each_precision_by_the_recall_it_adds() -> None:
    # recall steps of 1/3 at precisions 1, 2/3 and 3/4
    expected = (1 + 2 / 3 + 3 / 4) / 3
    assert average_precision(SCORES, TARGET).item() == pytest.approx(expected)
    assert average_precision(torch.ones(4), torch.tensor([0, 0, 0, 1])).item() == 0.25


def test_multiclass_curves_score_each_column_against_its_class() -> None:
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.3, 0.5], [0.5, 0.1, 0.4]])
    target = torch.tensor([0, 1, 2, 2])
    curves = multiclass_roc(scores, target)
    assert len(curves) == 3
    for c, (fpr, tpr, thresholds) in enumerate(curves):
        ref_fpr, ref_tpr, ref_thresholds = roc(scores[:, c], target, pos_label=c)
        assert torch.equal(fpr, ref_fpr) and torch.equal(tpr, ref_tpr)
        assert torch.equal(thresholds, ref_thresholds)
    pr_curves = multiclass_precision_recall_curve(scores, target, num_classes=2)
    assert len(pr_curves) == 2
    assert pr_curves[1][0].tolist() == pytest.approx([1, 1])  # class 1 ranks first: precision 1


def test_multiclass_curves_need_a_score_column_per_class() -> None:
    with pytest.raises(MetricInputError, match="score columns"):
        multiclass_roc(torch.rand(4, 2), torch.tensor([0, 1, 0, 1]), num_classes=3)
    with pytest.raises(MetricInputError, match=r"\(N, C\)"):
        multiclass_roc(torch.rand(4), torch.tensor([0, 1, 0, 1]))
