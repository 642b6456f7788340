"""Loop-level Lightning 1.0 behaviours, each as 1.0.8's own tests exercise it (found with
scripts/lightning_suite.sh; issue 12): `trainer.batch_idx`, which batch hooks the module
gets, an epoch ended by on_train_batch_start, NaN detection, truncated BPTT."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


def test_trainer_batch_idx_follows_the_training_batch(tmp_path: Any) -> None:
    seen: list[tuple[int, int]] = []

    class Recorder(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx, dl_idx):  # type: ignore[no-untyped-def]
            seen.append((batch_idx, trainer.batch_idx))

    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[Recorder()], max_epochs=2)
    assert trainer.batch_idx == 0
    trainer.fit(RegressionModel(), loader(n=64))
    assert [b for b, _ in seen] == [t for _, t in seen] == [0, 1, 2, 3] * 2
    assert trainer.batch_idx == 3  # the last batch trained, as after a 1.0 fit


@pytest.mark.parametrize("stop_at", [2, 10])
def test_minus_one_from_on_train_batch_start_ends_each_epoch(tmp_path: Any, stop_at: int) -> None:
    class Stopping(RegressionModel):
        def on_train_batch_start(self, batch: Any, batch_idx: int, dl_idx: int) -> Any:
            return -1 if batch_idx == stop_at else None

    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False, max_epochs=3)
    trainer.fit(Stopping(), loader(n=64))  # 4 batches an epoch
    if stop_at < 4:
        # 1.0 counts the step of the batch that ended the epoch (its epoch-end step increment)
        assert trainer.batch_idx == stop_at
        assert trainer.global_step == (stop_at + 1) * 3
    else:
        assert trainer.batch_idx == 3
        assert trainer.global_step == 4 * 3


def test_the_module_gets_no_on_batch_start_or_on_batch_end(tmp_path: Any) -> None:
    """1.0 calls these two on callbacks only; a module method of that name is just a method
    (1.0.8's tests define them with other signatures)."""
    called: list[str] = []

    class Module(RegressionModel):
        def on_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int) -> None:
            called.append("module")

        def on_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dl_idx: int) -> None:
            called.append("module")

    class Recorder(pl.Callback):
        def on_batch_start(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            called.append("start")

        def on_batch_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            called.append("end")

    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[Recorder()])
    trainer.fit(Module(), loader(n=32))
    assert called == ["start", "end"] * 2


def test_terminate_on_nan_names_an_infinite_loss_and_keeps_the_weights_finite(
    tmp_path: Any,
) -> None:
    class Exploding(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = super().training_step(batch, batch_idx)
            return loss * math.inf if batch_idx == 2 else loss

    model = Exploding()
    trainer = quiet_trainer(tmp_path, logger=False, terminate_on_nan=True)
    with pytest.raises(ValueError, match="The loss returned in `training_step` is nan or inf"):
        trainer.fit(model, loader(n=64))
    assert trainer.global_step == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_terminate_on_nan_names_the_parameter_that_became_nan(tmp_path: Any) -> None:
    class Poisoned(RegressionModel):
        def on_after_backward(self) -> None:
            if self.global_step == 1:
                torch.nn.init.constant_(self.net[3].bias, math.nan)

    trainer = quiet_trainer(tmp_path, logger=False, terminate_on_nan=True)
    with pytest.raises(ValueError, match=r"Detected nan and/or inf values in `net\.3\.bias`"):
        trainer.fit(Poisoned(), loader(n=64))
    assert trainer.global_step == 1


class Sequences(Dataset):
    """Two ready-made batches of 2 sequences of 6 steps: x a (2, 6, 1) tensor, y the same
    values as nested lists (sample, step, feature); 1.0 cuts both along the steps."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.rand(2, 2, 6, 1, generator=generator)

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Any:
        return self.x[i], self.x[i].tolist()


class Recurrent(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.cell = torch.nn.RNNCell(1, 3)
        self.head = torch.nn.Linear(3, 1)
        self.calls: list[tuple[int, int, bool]] = []  # batch_idx, split length, got hiddens
        self.epoch_outputs: list[Any] = []

    def training_step(self, batch: Any, batch_idx: int, hiddens: Any) -> dict[str, Any]:
        x, y = batch
        y = torch.tensor(y, dtype=x.dtype)
        self.calls.append((batch_idx, x.shape[1], hiddens is not None))
        h = hiddens
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        loss = torch.nn.functional.mse_loss(self.head(h), y[:, -1])
        return {"loss": loss, "hiddens": h.detach()}

    def training_epoch_end(self, outputs: list[Any]) -> None:
        self.epoch_outputs = outputs

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_truncated_bptt_splits_each_batch_and_carries_the_hiddens(tmp_path: Any) -> None:
    seen: list[Any] = []

    class Recorder(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx):  # type: ignore[no-untyped-def]
            seen.append(outputs)

    model = Recurrent()
    trainer = quiet_trainer(
        tmp_path, logger=False, truncated_bptt_steps=2, max_epochs=1, callbacks=[Recorder()]
    )
    trainer.fit(model, DataLoader(Sequences(), batch_size=None))
    # 6 steps in splits of 2: three training steps per batch, hiddens from the second on
    assert model.calls == [(b, 2, split > 0) for b in range(2) for split in range(3)]
    assert trainer.global_step == 2  # one step per batch, whatever the number of splits
    # training_epoch_end: per batch, the list of its splits' outputs
    assert [len(batch) for batch in model.epoch_outputs] == [3, 3]
    assert all("loss" in split for batch in model.epoch_outputs for split in batch)
    # on_train_batch_end: per optimizer, per split
    assert [len(per_opt) for outputs in seen for per_opt in outputs] == [3, 3]


def test_tbptt_split_batch_can_be_overridden(tmp_path: Any) -> None:
    class HalfSplits(Recurrent):
        def tbptt_split_batch(self, batch: Any, split_size: int) -> list[Any]:
            x, y = batch
            return [[x[:, :3], [row[:3] for row in y]], [x[:, 3:], [row[3:] for row in y]]]

    model = HalfSplits()
    trainer = quiet_trainer(tmp_path, logger=False, truncated_bptt_steps=2)
    trainer.fit(model, DataLoader(Sequences(), batch_size=None))
    assert [length for _, length, _ in model.calls] == [3, 3, 3, 3]


def test_precision_16_with_manual_optimization_steps_through_the_loss_scaler(
    tmp_path: Any,
) -> None:
    """1.0's manual optimization under native 16-bit: manual_backward scales the loss and a
    step taken by hand unscales first (and is skipped on inf gradients). precision=16 needs
    CUDA, so the float16 plugin is put in place on the CPU directly."""
    from trainer_core.precision import AutocastPrecisionPlugin

    class Manual(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False
            self.scales: list[float] = []

        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt = self.optimizers()
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            if batch_idx == 1:
                loss = loss * math.inf  # the scaler must skip this step and lower its scale
            self.manual_backward(loss, opt)
            opt.step()
            opt.zero_grad()
            self.scales.append(self.trainer.strategy.precision_plugin.scaler.get_scale())

    model = Manual()
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    plugin = AutocastPrecisionPlugin(torch.device("cpu"), torch.float16)
    trainer.strategy.precision_plugin = plugin
    before = [p.detach().clone() for p in model.parameters()]
    trainer.fit(model, loader(n=64))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # the scaler updates once per batch, after the step: halved after the inf batch only
    first = model.scales[0]
    assert model.scales == [first, first, first / 2, first / 2]
    assert trainer.global_step == 4
