"""What `self.log` keeps of a tensor: one number as a 0-d tensor, detached from the graph."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class LogsTensors(RegressionModel):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.log("zero_d_with_graph", loss * 2)  # a 0-d tensor attached to the graph
        self.log("one_element", torch.full((1, 1), 3.0))
        return loss


def test_logged_tensors_are_0_d_and_detached_whatever_their_shape(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(LogsTensors(), loader(n=32, batch_size=16))
    for name in ("zero_d_with_graph", "one_element"):
        value = trainer.callback_metrics[name]
        assert value.shape == ()
        assert not value.requires_grad
    assert trainer.callback_metrics["one_element"].item() == 3.0
    assert trainer.callback_metrics["zero_d_with_graph"].item() == (
        2 * trainer.callback_metrics["train_loss"].item()
    )


class ReadsEveryBatch(pl.Callback):
    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        self.seen.append(trainer.callback_metrics["zero_d_with_graph"])


class RemembersLosses(LogsTensors):
    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.losses.append(2 * loss.item())
        return loss


def test_a_value_logged_from_the_graph_is_read_detached_at_every_batch(tmp_path: Any) -> None:
    reader = ReadsEveryBatch()
    model = RemembersLosses()
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[reader])
    trainer.fit(model, loader(n=64, batch_size=16))

    assert [v.item() for v in reader.seen] == model.losses
    assert not any(v.requires_grad for v in reader.seen)


def test_no_value_the_trainer_keeps_after_fit_holds_a_graph(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path)
    trainer.fit(LogsTensors(), loader(n=32, batch_size=16))

    kept = {
        **trainer.callback_metrics,
        **trainer.progress_bar_metrics,
        **trainer.logged_metrics,
    }
    assert "zero_d_with_graph" in kept
    for name, value in kept.items():
        if isinstance(value, torch.Tensor):
            assert value.grad_fn is None, name


class LogsASideValue(RegressionModel):
    """Logs a value computed from the graph that takes no part in the loss."""

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        prediction = self(x)
        self.log("side", (prediction * 3).mean())
        loss = torch.nn.functional.mse_loss(prediction, y)
        self.log("train_loss", loss)
        self.loss = loss
        return loss

    def record_store(self) -> None:
        kept = self.trainer._train_results.keys
        self.side_kept_attached = kept["side"].latest.grad_fn is not None
        self.loss_kept = kept["train_loss"].latest is self.loss


class ChecksAfterTheBatch(LogsASideValue):
    def on_train_batch_end(self, *args: Any) -> None:  # keeps the direct path
        self.record_store()


class ChecksDuringBackward(LogsASideValue):
    def on_after_backward(self) -> None:  # takes the general path
        self.record_store()


@pytest.mark.parametrize("model_cls", [ChecksAfterTheBatch, ChecksDuringBackward])
def test_a_side_value_from_the_graph_is_detached_before_backward(
    tmp_path: Any, model_cls: type
) -> None:
    model = model_cls()
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(model, loader(n=32, batch_size=16))

    assert trainer.fit_loop.epoch_loop.automatic.direct is (model_cls is ChecksAfterTheBatch)
    assert model.side_kept_attached is False
    assert model.loss_kept is True  # the loss itself needs no copy
