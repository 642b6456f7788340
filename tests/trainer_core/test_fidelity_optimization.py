"""How parameters get updated, as in Lightning 1.0 (found with scripts/lightning_suite.sh;
issue 12): the closure the optimizer_step hook gets and passes on to `optimizer.step`, and
`manual_optimizer_step` under manual optimization with accumulate_grad_batches."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class Lbfgs(RegressionModel):
    def configure_optimizers(self) -> Any:
        return torch.optim.LBFGS(self.parameters(), lr=0.1, max_iter=4)


@pytest.mark.parametrize(("accumulate", "backwards"), [(1, 5), (2, 10)])
def test_a_closure_step_adds_no_backward_of_its_own(
    tmp_path: Any, accumulate: int, backwards: int
) -> None:
    """1.0.8: the optimizer's first closure evaluation is the batch's own forward and backward.
    With backward mocked out the gradients stay empty, so LBFGS stops after that evaluation
    and each step costs exactly the backward calls of its batches."""
    trainer = quiet_trainer(
        tmp_path,
        logger=False,
        checkpoint_callback=False,
        max_steps=5,
        accumulate_grad_batches=accumulate,
    )
    with mock.patch("torch.Tensor.backward") as backward:
        trainer.fit(Lbfgs(), loader(n=256))
    assert backward.call_count == backwards


def test_lbfgs_reevaluates_the_batch_through_the_closure(tmp_path: Any) -> None:
    calls: list[int] = []

    class Counting(Lbfgs):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            calls.append(batch_idx)
            return super().training_step(batch, batch_idx)

    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(Counting(), loader(n=32))  # two batches, up to 4 evaluations a step
    assert set(calls) == {0, 1}
    assert 1 < calls.count(0) <= 4  # the batch's step plus LBFGS's own re-evaluations


def test_an_optimizer_step_override_gets_a_closure_returning_the_batch_loss(
    tmp_path: Any,
) -> None:
    """1.0's documented override passes `optimizer_closure` on to `optimizer.step`; with any
    optimizer the closure is callable and gives this batch's loss."""
    losses: list[tuple[float, float]] = []

    class WarmUp(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = super().training_step(batch, batch_idx)
            self.last_loss = loss.item()
            return loss

        def optimizer_step(  # type: ignore[override]
            self,
            epoch,
            batch_idx,
            optimizer,
            optimizer_idx,
            optimizer_closure,
            on_tpu,
            using_native_amp,
            using_lbfgs,
        ) -> None:
            for group in optimizer.param_groups:
                group["lr"] = 0.01 * (self.trainer.global_step + 1)
            returned = optimizer.step(closure=optimizer_closure)
            losses.append((float(returned), self.last_loss))

    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(WarmUp(), loader(n=64))
    assert len(losses) == 4
    assert all(returned == pytest.approx(step) for returned, step in losses)


class TwoLookSGD(torch.optim.SGD):
    """A sharpness-aware style optimizer: its own `step` evaluates the closure twice."""

    def __init__(self, params: Any, evaluations: list[float]) -> None:
        super().__init__(params, lr=0.01)
        self.evaluations = evaluations

    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        assert closure is not None, "a closure-driven optimizer must get the closure"
        self.evaluations.append(float(closure()))
        self.evaluations.append(float(closure()))
        return super().step()


def test_an_optimizer_with_its_own_step_gets_a_closure_that_evaluates_again(
    tmp_path: Any,
) -> None:
    """torch's built-in optimizers read the loss the loop computed without a second look; an
    optimizer whose own `step` calls the closure again re-runs the batch's training_step."""
    evaluations: list[float] = []
    steps: list[int] = []

    class Sharp(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            steps.append(batch_idx)
            return super().training_step(batch, batch_idx)

        def configure_optimizers(self) -> Any:
            return TwoLookSGD(self.parameters(), evaluations)

    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(Sharp(), loader(n=32))  # two batches
    assert steps == [0, 0, 1, 1]
    assert len(evaluations) == 4


class ManualSteps(RegressionModel):
    """Manual optimization through manual_optimizer_step; records the weights each batch."""

    def __init__(self, **step_flags: Any) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.step_flags = step_flags
        self.changed: list[bool] = []
        self.grads_zero: list[bool] = []

    def training_step(self, batch: Any, batch_idx: int) -> None:
        opt = self.optimizers()
        before = [p.detach().clone() for p in self.parameters()]
        x, y = batch
        self.manual_backward(torch.nn.functional.mse_loss(self(x), y), opt)
        self.manual_optimizer_step(opt, **self.step_flags)
        self.changed.append(
            any(not torch.equal(a, b) for a, b in zip(before, self.parameters(), strict=True))
        )
        self.grads_zero.append(all(p.grad is None or not p.grad.any() for p in self.parameters()))


def test_manual_optimizer_step_follows_accumulate_grad_batches(tmp_path: Any) -> None:
    model = ManualSteps()
    trainer = quiet_trainer(tmp_path, logger=False, accumulate_grad_batches=2)
    trainer.fit(model, loader(n=96))  # 6 batches, 3 windows of 2
    assert model.changed == [False, True] * 3
    # the gradients accumulate over the window and are zeroed after its step
    assert model.grads_zero == [False, True] * 3
    assert trainer.global_step == 3  # a step per window, as under automatic optimization


def test_manual_optimizer_step_steps_on_the_last_batch_of_a_short_window(tmp_path: Any) -> None:
    model = ManualSteps()
    trainer = quiet_trainer(tmp_path, logger=False, accumulate_grad_batches=4)
    trainer.fit(model, loader(n=96))  # 6 batches: a window of 4, then one cut to 2
    assert model.changed == [False, False, False, True, False, True]
    assert trainer.global_step == 2


@pytest.mark.parametrize("make_step", [True, False])
def test_make_optimizer_step_overrides_the_accumulation(tmp_path: Any, make_step: bool) -> None:
    model = ManualSteps(make_optimizer_step=make_step)
    trainer = quiet_trainer(tmp_path, logger=False, accumulate_grad_batches=2)
    trainer.fit(model, loader(n=64))
    assert model.changed == [make_step] * 4


def test_manual_optimizer_step_runs_the_closure_and_passes_extra_arguments(
    tmp_path: Any,
) -> None:
    """The closure runs on accumulating batches too; when stepping it reaches `optimizer.step`
    as `closure=`, with the extra positional and keyword arguments."""
    closure_runs: list[int] = []

    class WithClosure(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False

        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt = self.optimizers()

            def closure() -> None:
                closure_runs.append(batch_idx)
                x, y = batch
                self.manual_backward(torch.nn.functional.mse_loss(self(x), y), opt)

            self.manual_optimizer_step(opt, 1, optimizer_closure=closure, something="new")

    trainer = quiet_trainer(tmp_path, logger=False, accumulate_grad_batches=2)
    with mock.patch("torch.optim.SGD.step") as step:
        trainer.fit(WithClosure(), loader(n=64))
    # accumulating batches run their closure; stepping ones hand it to the (mocked) step
    assert closure_runs == [0, 2]
    assert step.call_args_list == [mock.call(1, closure=mock.ANY, something="new")] * 2


def test_manual_optimizer_step_is_for_manual_optimization_only(tmp_path: Any) -> None:
    class Automatic(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.manual_optimizer_step(self.optimizers())
            return super().training_step(batch, batch_idx)

    trainer = quiet_trainer(tmp_path, logger=False)
    with pytest.raises(pl.MisconfigurationException, match="manual optim"):
        trainer.fit(Automatic(), loader(n=32))
