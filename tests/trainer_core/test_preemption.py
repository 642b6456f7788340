"""Stopping a run at any step boundary and resuming it exactly (what preemption rests on).

A run asked to stop inside an epoch (by `request_checkpoint_and_stop` or a real SIGUSR1)
writes its whole loop state through ModelCheckpoint, `fit` returns normally as interrupted,
and a run resumed from that checkpoint ends bit for bit (CPU, deterministic) where an
uninterrupted one does, having logged every metric step exactly once.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.callbacks import ModelCheckpoint, PreemptionHandler


class Accumulator(pl.metrics.Metric):
    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, value: torch.Tensor) -> None:
        self.total += value.detach()

    def compute(self) -> torch.Tensor:
        return self.total


class BusyModel(RegressionModel):
    """Dropout, shuffled data, accumulation windows, a step scheduler, epoch means, a metric
    object and training_epoch_end outputs: every piece of in-epoch state matters."""

    def __init__(self) -> None:
        super().__init__(hidden=16, lr=0.01, dropout=0.2)
        self.seen = Accumulator()
        self.epoch_sums: list[float] = []

    def train_dataloader(self) -> Any:
        return loader(n=80, batch_size=8, shuffle=True)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        self.seen(loss)
        self.log("seen", self.seen, on_step=False, on_epoch=True)
        return loss

    def training_epoch_end(self, outputs: list[Any]) -> None:
        self.epoch_sums.append(float(sum(o["loss"] for o in outputs)))

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.9)
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]


class Rows(pl.loggers.LightningLoggerBase):
    """Keeps every logged row (what the Runyard logger would send)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int | None, dict[str, float]]] = []

    @property
    def experiment(self) -> Any:
        return None

    @property
    def name(self) -> str:
        return "rows"

    @property
    def version(self) -> int:
        return 0

    def log_hyperparams(self, params: Any) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.rows.append((step, dict(metrics)))


class StopAtBatch(pl.Callback):
    def __init__(self, epoch: int, batch_idx: int) -> None:
        self.at = (epoch, batch_idx)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        if (trainer.current_epoch, args[2]) == self.at:
            trainer.request_checkpoint_and_stop()


class Saved(pl.Callback):
    def __init__(self) -> None:
        self.paths: list[str] = []

    def on_checkpoint_saved(self, trainer: Any, pl_module: Any, filepath: str) -> None:
        self.paths.append(filepath)


def _trainer(root: Any, logger: Rows, *callbacks: pl.Callback) -> pl.Trainer:
    checkpoint = ModelCheckpoint(dirpath=os.path.join(root, "ckpt"))
    return quiet_trainer(
        root,
        max_epochs=3,
        deterministic=True,
        accumulate_grad_batches=2,
        log_every_n_steps=1,
        logger=logger,
        callbacks=[*callbacks, checkpoint],
    )


def _uninterrupted(root: Any) -> tuple[BusyModel, Rows]:
    pl.seed_everything(11)
    model, rows = BusyModel(), Rows()
    _trainer(root, rows).fit(model)
    return model, rows


def _metric_rows(rows: Rows) -> list[tuple[int | None, tuple[str, ...]]]:
    return [(step, tuple(sorted(metrics))) for step, metrics in rows.rows]


def _assert_same_run(
    reference: tuple[BusyModel, Rows], first: Rows, resumed: BusyModel, second: Rows
) -> None:
    model, rows = reference
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name
    # every (step, keys) row once, in order, split between the two runs
    assert _metric_rows(first) + _metric_rows(second) == _metric_rows(rows)
    assert [m for _, m in first.rows + second.rows] == [m for _, m in rows.rows]


def test_run_stopped_inside_an_epoch_resumes_bit_for_bit(tmp_path: Any) -> None:
    reference = _uninterrupted(tmp_path / "a")

    pl.seed_everything(11)
    first, saved = Rows(), Saved()
    # batch 4 of epoch 1: an accumulation window is half full (accumulate_grad_batches=2)
    trainer = _trainer(tmp_path / "b", first, StopAtBatch(1, 4), saved)
    assert trainer.fit(BusyModel()) == 1
    assert trainer.state == "interrupted" and trainer.stop_reason == "preemption"
    assert saved.paths[-1] == trainer.preemption_checkpoint_path  # announced like any other
    assert os.path.basename(trainer.preemption_checkpoint_path) == "last.ckpt"
    assert torch.load(trainer.preemption_checkpoint_path, weights_only=True)["epoch"] == 1

    pl.seed_everything(99)  # a fresh process: nothing of the first run's RNG survives
    second, resumed = Rows(), BusyModel()
    again = _trainer(tmp_path / "b", second)
    again.resume_from_checkpoint = trainer.preemption_checkpoint_path
    again.fit(resumed)
    assert again.state == "finished"
    _assert_same_run(reference, first, resumed, second)
    assert resumed.epoch_sums[-2:] == reference[0].epoch_sums[-2:]


class SignalAtStep(pl.Callback):
    """Sends this process SIGUSR1 once training reaches a step, as a scheduler would: from
    inside the loop, so the signal lands mid-epoch however fast or slow the machine is."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.sent = False

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if trainer.global_step >= self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGUSR1)


def test_sigusr1_checkpoints_at_the_next_step_and_the_resumed_run_matches(tmp_path: Any) -> None:
    reference = _uninterrupted(tmp_path / "a")

    pl.seed_everything(11)
    first = Rows()
    trainer = _trainer(tmp_path / "b", first, PreemptionHandler(), SignalAtStep(7))
    trainer.fit(BusyModel())
    assert trainer.state == "interrupted" and trainer.stop_reason == "preemption"
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # the handler is put back

    pl.seed_everything(3)
    second, resumed = Rows(), BusyModel()
    again = _trainer(tmp_path / "b", second)
    again.resume_from_checkpoint = trainer.preemption_checkpoint_path
    again.fit(resumed)
    _assert_same_run(reference, first, resumed, second)


def test_stop_requested_at_an_epoch_end_resumes_with_the_next_epoch(tmp_path: Any) -> None:
    reference = _uninterrupted(tmp_path / "a")

    pl.seed_everything(11)
    first = Rows()
    trainer = _trainer(tmp_path / "b", first, StopAtBatch(0, 9))  # the epoch's last batch
    trainer.fit(BusyModel())
    assert trainer.state == "interrupted"
    assert trainer.current_epoch == 0

    second, resumed = Rows(), BusyModel()
    again = _trainer(tmp_path / "b", second)
    again.resume_from_checkpoint = trainer.preemption_checkpoint_path
    again.fit(resumed)
    _assert_same_run(reference, first, resumed, second)
