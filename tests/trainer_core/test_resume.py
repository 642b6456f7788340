"""Resuming: a run killed after epoch 2 of 5 and resumed from its checkpoint ends with the
same weights, bit for bit (CPU, deterministic=True), as an uninterrupted run."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from torch import nn

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class Killed(Exception):
    """Stands in for the process dying."""


class KillAfterEpoch(pl.Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any = None
    ) -> None:
        if trainer.current_epoch == self.epoch:
            raise Killed


class NoisyModel(RegressionModel):
    """Dropout, shuffled data, Adam and an epoch scheduler: every piece of state matters."""

    def __init__(self) -> None:
        super().__init__(hidden=16, lr=0.01, dropout=0.2)

    def train_dataloader(self) -> Any:
        return loader(n=48, batch_size=8, shuffle=True)

    def val_dataloader(self) -> Any:
        return loader(n=16, batch_size=8, seed=5)

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)]


def _trainer(root: Any, **flags: Any) -> pl.Trainer:
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=os.path.join(root, "ckpt"), monitor="val_loss", save_last=True
    )
    callbacks = [*flags.pop("callbacks", []), checkpoint]
    return quiet_trainer(root, deterministic=True, logger=False, callbacks=callbacks, **flags)


@pytest.mark.slow
def test_resumed_run_ends_with_the_uninterrupted_weights(tmp_path: Any) -> None:
    pl.seed_everything(7)
    uninterrupted = NoisyModel()
    _trainer(tmp_path / "full", max_epochs=5).fit(uninterrupted)

    pl.seed_everything(7)
    killed = NoisyModel()
    with pytest.raises(Killed):
        _trainer(tmp_path / "killed", max_epochs=5, callbacks=[KillAfterEpoch(epoch=1)]).fit(killed)
    last = tmp_path / "killed" / "ckpt" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 1

    pl.seed_everything(99)  # a different start: everything must come from the checkpoint
    resumed = NoisyModel()
    trainer = _trainer(tmp_path / "killed", max_epochs=5, resume_from_checkpoint=str(last))
    trainer.fit(resumed)

    assert trainer.global_step == 5 * 6
    for (name, expected), (_, actual) in zip(
        uninterrupted.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(expected, actual), name
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.01 * 0.7**5)


def test_resume_restores_the_best_checkpoint_record(tmp_path: Any) -> None:
    first = _trainer(tmp_path, max_epochs=2)
    first.fit(NoisyModel())
    best_score = first.checkpoint_callback.best_model_score

    second = _trainer(
        tmp_path, max_epochs=2, resume_from_checkpoint=first.checkpoint_callback.last_model_path
    )
    second.fit(NoisyModel())
    assert second.checkpoint_callback.best_model_score == best_score
    assert second.global_step == first.global_step  # nothing left to train


def test_resuming_into_another_model_says_which_checkpoint_does_not_fit(tmp_path: Any) -> None:
    first = _trainer(tmp_path, max_epochs=1)
    first.fit(NoisyModel())

    class OtherModel(NoisyModel):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1))

    trainer = _trainer(
        tmp_path, max_epochs=2, resume_from_checkpoint=first.checkpoint_callback.last_model_path
    )
    with pytest.raises(pl.MisconfigurationException, match="does not fit OtherModel"):
        trainer.fit(OtherModel())


def test_checkpoints_open_with_weights_only_and_hold_the_resume_state(tmp_path: Any) -> None:
    trainer = _trainer(tmp_path, max_epochs=2)
    trainer.fit(NoisyModel())
    checkpoint = torch.load(trainer.checkpoint_callback.last_model_path, weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["global_step"] == 12
    for key in (
        "state_dict",
        "optimizer_states",
        "lr_schedulers",
        "callbacks",
        "hyper_parameters",
        "rng_states",
    ):
        assert key in checkpoint, key
    assert checkpoint["hyper_parameters"] == {"hidden": 16, "lr": 0.01, "dropout": 0.2}
    assert all(isinstance(key, str) for key in checkpoint["callbacks"])
