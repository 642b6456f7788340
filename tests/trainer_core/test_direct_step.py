"""The direct batch path (`AutomaticOptimization.run_direct`) trains exactly like the general
one: it is taken only when every layer it skips would pass its call straight through, and
then weights, logged values and epoch-end outputs match the general path bit for bit."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class ZeroGradOverride(RegressionModel):
    """The same model with a no-op override of optimizer_zero_grad: the general path."""

    def optimizer_zero_grad(
        self, epoch: int, batch_idx: int, optimizer: torch.optim.Optimizer, optimizer_idx: int
    ) -> None:
        optimizer.zero_grad()


class WithEpochEnd(RegressionModel):
    def __init__(self) -> None:
        super().__init__()
        self.epoch_outputs: list[Any] = []

    def training_epoch_end(self, outputs: list[Any]) -> None:
        self.epoch_outputs.extend(float(o["loss"]) for o in outputs)


class WithEpochEndGeneral(WithEpochEnd, ZeroGradOverride):
    pass


def _fit(model: pl.LightningModule, tmp_path: Any, **flags: Any) -> pl.Trainer:
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False, **flags)
    trainer.fit(model, loader(n=64, batch_size=8, shuffle=True))
    return trainer


def _trained(model_cls: type, tmp_path: Any, **flags: Any) -> tuple[pl.Trainer, Any]:
    pl.seed_everything(7)
    model = model_cls()
    return _fit(model, tmp_path, **flags), model


def _direct_taken(trainer: pl.Trainer) -> bool:
    return trainer.fit_loop.epoch_loop.automatic.direct


@pytest.mark.parametrize("accumulate", [1, 3])
def test_direct_and_general_paths_train_bit_for_bit_alike(tmp_path: Any, accumulate: int) -> None:
    flags = {"max_epochs": 2, "accumulate_grad_batches": accumulate}
    direct_trainer, direct = _trained(RegressionModel, tmp_path / "d", **flags)
    general_trainer, general = _trained(ZeroGradOverride, tmp_path / "g", **flags)

    assert _direct_taken(direct_trainer) and not _direct_taken(general_trainer)
    for (name, a), (_, b) in zip(
        direct.state_dict().items(), general.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert direct_trainer.global_step == general_trainer.global_step
    assert set(direct_trainer.callback_metrics) == set(general_trainer.callback_metrics)
    for name, value in direct_trainer.callback_metrics.items():
        assert torch.equal(value, general_trainer.callback_metrics[name]), name


def test_direct_path_hands_training_epoch_end_the_same_outputs(tmp_path: Any) -> None:
    direct_trainer, direct = _trained(WithEpochEnd, tmp_path / "d")
    general_trainer, general = _trained(WithEpochEndGeneral, tmp_path / "g")

    assert _direct_taken(direct_trainer) and not _direct_taken(general_trainer)
    assert len(direct.epoch_outputs) == 8
    assert direct.epoch_outputs == general.epoch_outputs


class StepHook(pl.Callback):
    def __init__(self) -> None:
        self.after_backward = 0

    def on_after_backward(self, trainer: Any, pl_module: Any) -> None:
        self.after_backward += 1


@pytest.mark.parametrize(
    ("flags", "model_cls"),
    [
        ({"gradient_clip_val": 0.5}, RegressionModel),
        ({"terminate_on_nan": True}, RegressionModel),
        ({"track_grad_norm": 2}, RegressionModel),
        ({"callbacks": "step_hook"}, RegressionModel),
        ({}, ZeroGradOverride),
    ],
    ids=["clipping", "nan-check", "grad-norm", "step-hook", "module-override"],
)
def test_anything_between_training_step_and_the_optimizer_takes_the_general_path(
    tmp_path: Any, flags: dict[str, Any], model_cls: type
) -> None:
    hook = StepHook()
    if flags.get("callbacks") == "step_hook":
        flags = {**flags, "callbacks": [hook]}
    trainer, _ = _trained(model_cls, tmp_path, **flags)

    assert not _direct_taken(trainer)
    if flags.get("callbacks"):
        assert hook.after_backward == 8  # the general path ran the hook every batch


def test_an_optimizer_that_evaluates_its_closure_again_takes_the_general_path(
    tmp_path: Any,
) -> None:
    class WithLBFGS(RegressionModel):
        def configure_optimizers(self) -> Any:
            return torch.optim.LBFGS(self.parameters(), lr=0.1, max_iter=2)

    trainer, _ = _trained(WithLBFGS, tmp_path)

    assert not _direct_taken(trainer)
