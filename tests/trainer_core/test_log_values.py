"""What `self.log` keeps of a tensor: one number as a 0-d tensor, detached from the graph."""

from __future__ import annotations

from typing import Any

import torch

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
