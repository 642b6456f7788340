"""`self.<submodule>` after fit has sped it up (`trainer_core.core.submodule_access`): always
the instance's current submodule, and nothing else about attribute access changes."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.core import submodule_access


class WithHead(RegressionModel):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))

    def describe(self) -> str:  # a method: its name must stay a method
        return "with head"


def _fitted(tmp_path: Any) -> WithHead:
    model = WithHead()
    quiet_trainer(tmp_path, logger=False, checkpoint_callback=False).fit(model, loader(n=16))
    return model


def test_fit_gives_the_class_a_slot_per_submodule_and_reads_the_current_one(
    tmp_path: Any,
) -> None:
    model = _fitted(tmp_path)

    assert isinstance(vars(WithHead)["head"], submodule_access.SubmoduleSlot)
    assert model.head is model._modules["head"]
    replacement = nn.Linear(1, 1)
    model.head = replacement
    assert model.head is replacement
    other = WithHead()  # another instance of the class: its own submodules
    assert other.head is other._modules["head"] and other.head is not replacement


def test_a_deleted_submodule_raises_the_usual_error_and_a_parameter_may_take_its_name(
    tmp_path: Any,
) -> None:
    model = _fitted(tmp_path)

    del model.head
    with pytest.raises(AttributeError, match="head"):
        model.head  # noqa: B018
    assert not hasattr(model, "head")
    model.head = nn.Parameter(torch.ones(1))
    assert isinstance(model.head, nn.Parameter)
    del model.head
    model.head = 3  # a plain value lands in the instance dict, which wins over the slot
    assert model.head == 3


def test_a_replica_with_its_own_modules_dict_sees_its_own_submodules(tmp_path: Any) -> None:
    model = _fitted(tmp_path)

    replica = model._replicate_for_data_parallel()
    replica._modules["head"] = nn.Linear(1, 1)  # what DataParallel's replicate does

    assert replica.head is replica._modules["head"]
    assert model.head is not replica.head


def test_names_the_class_defines_are_left_alone(tmp_path: Any) -> None:
    model = _fitted(tmp_path)

    assert model.describe() == "with head"
    assert "describe" not in vars(pl.LightningModule)
    assert not any(
        isinstance(value, submodule_access.SubmoduleSlot)
        for value in vars(pl.LightningModule).values()
    )


def test_the_fitted_model_still_exports_to_torchscript_and_pickles(tmp_path: Any) -> None:
    model = _fitted(tmp_path)
    x = torch.randn(3, 4)

    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(x), model(x))
    copy = torch.load(_saved(model, tmp_path), weights_only=False)
    torch.testing.assert_close(copy(x), model(x))


def _saved(model: nn.Module, tmp_path: Any) -> Any:
    path = tmp_path / "model.pt"
    torch.save(model, path)
    return path


class OwnGetattr(WithHead):
    def __getattr__(self, name: str) -> Any:
        if name == "head":
            self.__dict__["asked_for_head"] = self.__dict__.get("asked_for_head", 0) + 1
        return super().__getattr__(name)


def test_a_class_with_its_own_getattr_keeps_answering_submodule_names(tmp_path: Any) -> None:
    model = OwnGetattr()
    quiet_trainer(tmp_path, logger=False, checkpoint_callback=False).fit(model, loader(n=16))
    asked = model.asked_for_head

    assert model.head is model._modules["head"]
    assert model.asked_for_head == asked + 1  # its __getattr__ still answered


def test_a_subclass_of_a_fitted_class_takes_the_usual_way_until_fitted_itself(
    tmp_path: Any,
) -> None:
    _fitted(tmp_path)  # WithHead has its slots

    class Sub(WithHead):
        pass

    model = Sub()
    assert model.head is model._modules["head"]
    assert "head" not in vars(Sub)
