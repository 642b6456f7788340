"""Metrics synced over 2 gloo processes equal the single-process value on the same data."""

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainer_core.metrics import sync_scenarios as sc
from tests.trainer_core.metrics.test_seed_custom_metric import MyAccuracy
from tests.trainer_core.metrics.two_processes import run_on_two_processes
from trainer_core.metrics import AUROC, F1, Accuracy, ConfusionMatrix

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out_dir: Path = tmp_path_factory.mktemp("ranks")
    return run_on_two_processes(sc.run_all, out_dir)


def test_seed_my_accuracy_synced_equals_single_process(ranks):
    batches = sc.logits_batches(0, sc.EVEN_BATCHES)
    single = MyAccuracy()
    for logits, y in batches[:-2]:  # the batches both ranks had seen before their last one
        single(logits, y)
    for rank_id, rank in enumerate(ranks):
        assert rank["my_accuracy_synced"]["before_last"] == single.compute()
        own_samples = sum(len(y) for _, y in batches[rank_id::2][:-1])
        assert rank["my_accuracy_synced"]["local_total_before"] == own_samples


def test_synced_compute_resets_so_the_next_covers_only_later_batches(ranks):
    # Lightning 1.0.8: compute() consumes the states on every rank; the next synced compute()
    # scores only the last batch of each rank
    batches = sc.logits_batches(0, sc.EVEN_BATCHES)
    single = MyAccuracy()
    for logits, y in batches[-2:]:
        single(logits, y)
    for rank in ranks:
        assert rank["my_accuracy_synced"]["local_total_after"] == 0
        assert rank["my_accuracy_synced"]["last"] == single.compute()


def test_dist_sync_on_step_scores_the_batch_of_every_rank(ranks):
    batches = sc.logits_batches(1, sc.EVEN_BATCHES)
    for step in range(len(batches) // 2):
        both = batches[2 * step : 2 * step + 2]
        expected = Accuracy()(torch.cat([b[0] for b in both]), torch.cat([b[1] for b in both]))
        for rank in ranks:
            assert rank["accuracy_synced_on_step"][step] == expected


def _single_rows(seed: int) -> torch.Tensor:
    single = sc.Rows()
    for logits, _ in sc.logits_batches(seed, sc.UNEVEN_BATCHES):
        single.update(logits[:, 0])
    return single.compute()


def test_list_states_of_different_lengths_are_gathered_whole(ranks):
    expected = _single_rows(2)
    for rank in ranks:
        assert torch.allclose(rank["rows_uneven"], expected, atol=1e-6)


def test_rank_without_data_still_gets_every_rank_rows(ranks):
    expected = _single_rows(3)
    for rank in ranks:
        assert torch.allclose(rank["rows_rank_one_empty"], expected, atol=1e-6)


def test_named_and_callable_reductions_fold_ranks(ranks):
    for rank in ranks:
        values = rank["extremes"]
        assert values["high"] == 2.0 and values["low"] == 1.0
        assert values["avg"] == 1.5 and values["spread"] == 1.0
        assert torch.equal(values["stacked"], torch.tensor([[1.0, 10.0], [2.0, 20.0]]))


def test_sync_dist_folds_states_with_any_torch_reduction(ranks):
    # Lightning 1.0.8's `_sync_dist()`: tensor states stacked over ranks then reduced, list
    # states handed to the reduction as the list of every rank's rows (in rank order)
    for rank in ranks:
        result = rank["sync_dist_with_torch_reductions"]
        assert result["count"] == 1 + 2
        assert torch.equal(result["seen"], torch.tensor([0, 10, 1, 11]))


def test_auroc_cat_states_of_different_lengths_equal_single_process(ranks):
    single = AUROC(num_classes=5, average="weighted")
    for logits, y in sc.logits_batches(4, sc.UNEVEN_BATCHES):
        single.update(logits.softmax(dim=1), y)
    for rank in ranks:
        assert torch.allclose(rank["auroc_uneven"], single.compute(), atol=1e-6)


def test_auroc_on_a_rank_that_saw_no_data_equals_single_process(ranks):
    single = AUROC()
    for logits, y in sc.logits_batches(5, sc.UNEVEN_BATCHES):
        single.update(logits[:, 0], (y > 1).long())
    for rank in ranks:
        assert torch.allclose(rank["auroc_rank_one_empty"], single.compute(), atol=1e-6)


def test_f1_and_confusion_matrix_synced_equal_single_process(ranks):
    f1, confmat = F1(num_classes=5, average="macro"), ConfusionMatrix(5, normalize="true")
    for logits, y in sc.logits_batches(6, sc.EVEN_BATCHES):
        f1(logits, y)
        confmat(logits, y)
    for rank in ranks:
        assert torch.allclose(rank["f1_macro_and_confusion_matrix"]["f1"], f1.compute())
        assert torch.allclose(rank["f1_macro_and_confusion_matrix"]["confmat"], confmat.compute())


def test_dist_sync_fn_replaces_the_all_gather(ranks):
    for rank in ranks:
        result = rank["custom_gather_and_group"]
        assert torch.equal(result["twice"], 2 * result["local"])


def test_sync_runs_over_the_given_process_group(ranks):
    single = ConfusionMatrix(5)
    for logits, y in sc.logits_batches(7, sc.EVEN_BATCHES):
        single.update(logits, y)
    for rank in ranks:
        assert torch.equal(rank["custom_gather_and_group"]["in_group"], single.compute())


def test_a_failing_rank_is_reported_and_no_process_is_left(tmp_path):
    # whichever rank's traceback arrives first is reported: the failing one, or its peer
    # whose collective lost the connection
    with pytest.raises(torch.multiprocessing.ProcessRaisedException):
        run_on_two_processes(sc.rank_one_raises, tmp_path, timeout_s=120)
    assert multiprocessing.active_children() == []
