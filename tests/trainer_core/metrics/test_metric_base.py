"""The Metric base: states, forward vs compute, caching, reset, devices, persistence, pickling."""

import copy
import pickle

import pytest
import torch
from torch import Tensor

from trainer_core.metrics import Metric, MetricDefinitionError


class SumAndRows(Metric):
    """A tensor state and a list state, so both kinds are exercised."""

    def __init__(self, persistent: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum", persistent=persistent)
        self.add_state("rows", [], dist_reduce_fx="cat", persistent=persistent)
        self.compute_calls = 0

    def update(self, values: Tensor) -> None:
        self.total += values.sum()
        self.rows.append(values)

    def compute(self) -> Tensor:
        self.compute_calls += 1
        return self.total


def test_forward_returns_the_batch_value_and_compute_the_accumulated_one():
    metric = SumAndRows()
    assert metric(torch.tensor([1.0, 2.0])) == 3.0
    assert metric(torch.tensor([10.0])) == 10.0
    assert len(metric.rows) == 2
    assert metric.compute() == 13.0


def test_forward_keeps_the_batch_value_in_forward_cache():
    metric = SumAndRows()
    metric(torch.tensor([4.0]))
    assert metric._forward_cache == 4.0


def test_compute_on_step_false_only_accumulates():
    metric = SumAndRows(compute_on_step=False)
    assert metric(torch.tensor([4.0])) is None
    assert metric.compute() == 4.0


def test_compute_is_cached_until_the_next_update():
    metric = SumAndRows()
    metric.update(torch.tensor([1.0]))
    metric.compute()
    metric.compute()
    assert metric.compute_calls == 1
    metric.update(torch.tensor([1.0]))
    assert metric.compute() == 1.0  # compute() reset the states: only the later update counts
    assert metric.compute_calls == 2


def test_compute_resets_the_state_as_lightning_1_0_8():
    metric = SumAndRows()
    metric.update(torch.tensor([5.0]))
    assert metric.compute() == 5.0
    assert metric.total == 0.0 and metric.rows == []
    metric.update(torch.tensor([1.0]))
    assert metric.compute() == 1.0


def test_compute_before_update_warns():
    with pytest.warns(UserWarning, match="before any update"):
        SumAndRows().compute()


def test_reset_restores_fresh_copies_of_the_defaults():
    metric = SumAndRows()
    metric.update(torch.tensor([3.0]))
    metric.reset()
    first_total, first_rows = metric.total, metric.rows
    assert first_total == 0.0 and first_rows == []
    metric.update(torch.tensor([2.0]))  # in-place on the state, never on the default
    metric.reset()
    assert metric.total == 0.0 and metric.rows == []
    assert metric.total is not first_total and metric.rows is not first_rows
    assert metric._defaults["total"] == 0.0


def test_reset_clears_the_cached_value():
    metric = SumAndRows()
    metric.update(torch.tensor([3.0]))
    metric.compute()
    metric.reset()
    metric.update(torch.tensor([1.0]))
    assert metric.compute() == 1.0


def test_double_casts_floating_states_and_defaults():
    metric = SumAndRows().double()
    metric.update(torch.tensor([1.0], dtype=torch.float64))
    assert metric.total.dtype == torch.float64
    assert metric.rows[0].dtype == torch.float64
    metric.reset()
    assert metric.total.dtype == torch.float64


@pytest.mark.parametrize("cast, dtype", [("half", torch.float16), ("float", torch.float32)])
def test_other_casts_reach_the_states(cast, dtype):
    metric = getattr(SumAndRows().double(), cast)()
    assert metric.total.dtype == dtype


def test_states_move_with_the_module_that_holds_the_metric():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    model.metric = SumAndRows()
    model.double()
    assert model.metric.total.dtype == torch.float64


def test_returned_value_does_not_change_with_later_updates():
    metric = SumAndRows()
    metric.update(torch.tensor([1.0]))
    value = metric.compute()
    metric.update(torch.tensor([5.0]))
    assert value == 1.0


def test_to_moves_states_to_the_device():
    # the meta device stands in for a GPU: it exercises the same move path without one
    metric = SumAndRows()
    metric.update(torch.tensor([1.0]))
    moved = metric.to("meta")
    assert moved is metric
    assert metric.total.device.type == "meta"
    assert metric.rows[0].device.type == "meta"
    metric.reset()
    assert metric.total.device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_states_and_keeps_computing_there():
    metric = SumAndRows().cuda()
    metric.update(torch.tensor([1.0], device="cuda"))
    assert metric.total.is_cuda and metric.compute().is_cuda
    assert metric.cpu().total.device.type == "cpu"


def test_state_dict_leaves_out_non_persistent_states():
    metric = SumAndRows()
    metric.update(torch.tensor([1.0]))
    assert metric.state_dict() == {}


def test_persistent_states_round_trip_through_state_dict():
    metric = SumAndRows(persistent=True)
    metric.update(torch.tensor([1.0, 2.0]))
    saved = metric.state_dict()
    assert set(saved) == {"total", "rows"}
    restored = SumAndRows(persistent=True)
    restored.load_state_dict(saved)
    assert torch.equal(restored.rows[0], torch.tensor([1.0, 2.0]))
    assert restored.compute() == 3.0


def test_persistent_switches_every_state_into_the_state_dict():
    metric = SumAndRows()
    metric.persistent(True)
    assert set(metric.state_dict()) == {"total", "rows"}


def test_metric_inside_a_module_keeps_its_persistent_state_under_its_prefix():
    model = torch.nn.Module()
    model.acc = SumAndRows(persistent=True)
    model.acc.update(torch.tensor([2.0]))
    assert "acc.total" in model.state_dict()
    fresh = torch.nn.Module()
    fresh.acc = SumAndRows(persistent=True)
    fresh.load_state_dict(model.state_dict())
    assert fresh.acc.total == 2.0


def test_pickle_keeps_states_and_behaviour():
    metric = SumAndRows()
    metric.update(torch.tensor([2.0]))
    clone = pickle.loads(pickle.dumps(metric))
    clone.update(torch.tensor([1.0]))
    assert clone.compute() == 3.0
    assert metric.compute() == 2.0


def test_deepcopy_does_not_share_states():
    metric = SumAndRows()
    metric.update(torch.tensor([2.0]))
    clone = copy.deepcopy(metric)
    clone.update(torch.tensor([1.0]))
    assert metric.total == 2.0 and len(metric.rows) == 1


def test_subclass_calling_super_update_counts_one_update():
    class Doubled(SumAndRows):
        def update(self, values: Tensor) -> None:
            super().update(values * 2)

    metric = Doubled()
    metric.update(torch.tensor([1.0]))
    assert metric._update_count == 1 and metric.compute() == 2.0


@pytest.mark.parametrize("default", [[torch.tensor(1.0)], 3, "x"])
def test_add_state_refuses_defaults_that_cannot_be_reset(default):
    class Bad(SumAndRows):
        def __init__(self):
            super().__init__()
            self.add_state("bad", default)

    with pytest.raises(MetricDefinitionError, match="default must be"):
        Bad()


def test_add_state_refuses_an_unknown_reduction():
    class Bad(SumAndRows):
        def __init__(self):
            super().__init__()
            self.add_state("bad", torch.tensor(0), dist_reduce_fx="median")

    with pytest.raises(ValueError, match=r"'median' is not a known reduction.*'cat'"):
        Bad()


def test_add_state_refuses_a_name_that_shadows_the_api():
    class Bad(SumAndRows):
        def __init__(self):
            super().__init__()
            self.add_state("reset", torch.tensor(0))

    with pytest.raises(MetricDefinitionError, match="'reset' is not a free attribute name"):
        Bad()


def test_forward_value_keeps_the_graph_but_the_accumulated_state_does_not():
    metric = SumAndRows()
    values = torch.tensor([1.0, 2.0], requires_grad=True)
    batch_value = metric(values)
    assert batch_value.requires_grad
    assert not metric.total.requires_grad
