"""`self.log` records training_step's usual call (a scalar tensor, default flags, a name
logged before) itself, in one Python frame; what it records is what `ResultStore.log` would."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import trainer_core as pl
from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.logged_results import LoggedKey, ResultStore


def _store() -> ResultStore:
    return ResultStore("train", lambda tensor, op: tensor)


def _module_logging_to(store: ResultStore, hook: str = "training_step") -> pl.LightningModule:
    module = pl.LightningModule()
    module._results = store
    module._current_fx_name = hook
    return module


def _record(key: LoggedKey) -> tuple[Any, ...]:
    return (key.latest, key.attached, key.step_seq, key.values, key.on_step, key.on_epoch)


def _log_twice_both_ways(first: torch.Tensor, second: torch.Tensor) -> tuple[Any, Any]:
    """The same two batches logged through self.log and straight through ResultStore.log
    with training_step's resolved flags (on_step=True, on_epoch=False)."""
    via_module, direct = _store(), _store()
    module = _module_logging_to(via_module)
    for value in (first, second):
        via_module.new_batch(None)
        direct.new_batch(None)
        module.log("loss", value)
        direct.log("loss", value, True, False, False, True, torch.mean, False, False, "mean")
    return via_module, direct


def test_a_step_value_with_a_graph_is_kept_attached_and_listed_for_detaching() -> None:
    weight = torch.ones((), requires_grad=True)
    via_module, direct = _log_twice_both_ways(weight * 2, weight * 3)

    key = via_module.keys["loss"]
    assert _record(key) == _record(direct.keys["loss"])
    assert key.attached and key.latest.requires_grad
    assert via_module.attached == [key, key]  # once per batch until the loop clears it
    assert len(direct.attached) == 2


def test_a_step_value_without_a_graph_is_kept_as_it_is() -> None:
    via_module, direct = _log_twice_both_ways(torch.tensor(1.0), torch.tensor(2.0))

    key = via_module.keys["loss"]
    assert _record(key) == _record(direct.keys["loss"])
    assert key.latest.item() == 2.0 and not key.attached
    assert via_module.attached == direct.attached == []


def test_a_name_first_logged_per_epoch_keeps_its_epoch_flags() -> None:
    store = _store()
    module = _module_logging_to(store)
    store.new_batch(torch.zeros(4, 1))
    module.log("acc", torch.tensor(0.5), on_step=False, on_epoch=True)
    store.new_batch(torch.zeros(4, 1))
    module.log("acc", torch.tensor(0.7))  # step defaults now, but the key is an epoch key

    key = store.keys["acc"]
    assert (key.on_step, key.on_epoch) == (False, True)
    assert [value.item() for value in key.values] == [pytest.approx(0.5)]


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ("training_step", (True, False)),
        ("on_train_batch_end", (True, False)),
        ("validation_step", (False, True)),
        ("on_validation_epoch_end", (False, True)),
        ("training_epoch_end", (False, True)),
    ],
)
def test_the_hook_decides_the_default_flags(hook: str, expected: tuple[bool, bool]) -> None:
    store = _store()
    store.new_batch(torch.zeros(2, 1))
    _module_logging_to(store, hook).log("value", torch.tensor(1.0))

    key = store.keys["value"]
    assert (key.on_step, key.on_epoch) == expected


def test_an_epoch_end_method_refuses_step_logging() -> None:
    module = _module_logging_to(_store(), "training_epoch_end")
    with pytest.raises(MisconfigurationException, match=r"on_step=True\) is not allowed"):
        module.log("value", torch.tensor(1.0), on_step=True)
    with pytest.raises(MisconfigurationException, match=r"on_epoch=False\) is not allowed"):
        module.log("value", torch.tensor(1.0), on_epoch=False)


def test_both_flags_false_is_refused() -> None:
    module = _module_logging_to(_store())
    with pytest.raises(MisconfigurationException, match="both False"):
        module.log("value", torch.tensor(1.0), on_step=False, on_epoch=False)


def test_outside_a_loop_log_records_nothing() -> None:
    module = pl.LightningModule()
    module.log("value", torch.tensor(1.0))  # no store, no hook: dropped as in Lightning 1.0
    assert module._results is None
