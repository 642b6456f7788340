"""ModelCheckpoint, EarlyStopping and LearningRateMonitor policies, and callback state."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class ScriptedValLoss(RegressionModel):
    """Logs val_loss from a script, one value per epoch."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = values

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self.values[self.current_epoch])


class SavedFiles(pl.Callback):
    def __init__(self) -> None:
        self.saved: list[str] = []
        self.removed: list[str] = []

    def on_checkpoint_saved(self, trainer: pl.Trainer, pl_module: Any, filepath: str) -> None:
        assert os.path.exists(filepath)  # announced only once completely written
        self.saved.append(os.path.basename(filepath))

    def on_checkpoint_removed(self, trainer: pl.Trainer, pl_module: Any, filepath: str) -> None:
        self.removed.append(os.path.basename(filepath))


def _fit(tmp_path: Any, values: list[float], *callbacks: pl.Callback, **flags: Any) -> pl.Trainer:
    trainer = quiet_trainer(
        tmp_path,
        logger=False,
        max_epochs=len(values),
        num_sanity_val_steps=0,
        limit_train_batches=1,
        callbacks=list(callbacks),
        **flags,
    )
    trainer.fit(ScriptedValLoss(values), loader(), loader(n=16))
    return trainer


def test_top_k_keeps_the_best_files_and_announces_saves_and_removals(tmp_path: Any) -> None:
    files = SavedFiles()
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path), monitor="val_loss", save_top_k=2, filename="{epoch}-{val_loss:.1f}"
    )
    _fit(tmp_path, [0.5, 0.3, 0.9, 0.1], files, checkpoint)
    assert sorted(os.listdir(tmp_path)) == [
        "epoch=1-val_loss=0.3.ckpt",
        "epoch=3-val_loss=0.1.ckpt",
    ]
    assert os.path.basename(checkpoint.best_model_path) == "epoch=3-val_loss=0.1.ckpt"
    assert checkpoint.best_model_score.item() == pytest.approx(0.1)
    assert files.saved == [
        "epoch=0-val_loss=0.5.ckpt",
        "epoch=1-val_loss=0.3.ckpt",
        "epoch=3-val_loss=0.1.ckpt",
    ]
    assert files.removed == ["epoch=0-val_loss=0.5.ckpt"]


def test_mode_max_keeps_the_highest_score(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), monitor="val_loss", mode="max")
    _fit(tmp_path, [0.5, 0.9, 0.1], checkpoint)
    assert os.path.basename(checkpoint.best_model_path) == "epoch=1.ckpt"


def test_auto_mode_maximises_accuracy_names() -> None:
    assert pl.callbacks.ModelCheckpoint(monitor="val_acc").mode == "max"
    assert pl.callbacks.ModelCheckpoint(monitor="val_loss").mode == "min"


def test_without_monitor_only_the_latest_checkpoint_is_kept_plus_last(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), save_last=True)
    _fit(tmp_path, [0.5, 0.4, 0.3], checkpoint)
    assert sorted(os.listdir(tmp_path)) == ["epoch=2.ckpt", "last.ckpt"]
    assert checkpoint.last_model_path.endswith("last.ckpt")


def test_period_saves_every_nth_epoch(tmp_path: Any) -> None:
    files = SavedFiles()
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), save_top_k=-1, period=2)
    _fit(tmp_path, [0.5, 0.4, 0.3, 0.2], files, checkpoint)
    assert files.saved == ["epoch=1.ckpt", "epoch=3.ckpt"]


def test_save_weights_only_checkpoint_loads_into_the_model(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), save_weights_only=True)
    _fit(tmp_path, [0.5], checkpoint)
    content = torch.load(checkpoint.best_model_path, weights_only=True)
    assert "optimizer_states" not in content
    model = RegressionModel.load_from_checkpoint(checkpoint.best_model_path)
    assert model.hparams.hidden == 8


def test_checkpoint_without_logger_goes_to_root_checkpoints(tmp_path: Any) -> None:
    trainer = _fit(tmp_path, [0.5], pl.callbacks.ModelCheckpoint())
    assert trainer.checkpoint_callback.best_model_path == str(
        tmp_path / "checkpoints" / "epoch=0.ckpt"
    )


def test_early_stopping_stops_after_patience_checks_without_improvement(tmp_path: Any) -> None:
    stopper = pl.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    trainer = _fit(tmp_path, [0.5, 0.4, 0.45, 0.41, 0.3, 0.2, 0.1], stopper)
    assert trainer.current_epoch == 3
    assert stopper.stopped_epoch == 3 and stopper.wait_count == 2


def test_early_stopping_min_delta_demands_a_real_improvement(tmp_path: Any) -> None:
    stopper = pl.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.05)
    trainer = _fit(tmp_path, [0.5, 0.48, 0.2, 0.1], stopper)
    assert trainer.current_epoch == 1


def test_early_stopping_state_round_trips() -> None:
    stopper = pl.callbacks.EarlyStopping(monitor="val_loss", patience=4)
    stopper.wait_count, stopper.best_score = 2, torch.tensor(0.25)
    fresh = pl.callbacks.EarlyStopping(monitor="val_loss")
    fresh.load_state_dict(stopper.state_dict())
    assert (fresh.wait_count, fresh.patience, fresh.best_score.item()) == (2, 4, 0.25)


def test_learning_rate_monitor_logs_each_scheduler_under_the_optimizer_name(tmp_path: Any) -> None:
    class Scheduled(RegressionModel):
        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
            return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]

    monitor = pl.callbacks.LearningRateMonitor()
    csv_logger = pl.loggers.CSVLogger(str(tmp_path))
    trainer = quiet_trainer(
        tmp_path, logger=csv_logger, max_epochs=3, callbacks=[monitor], limit_train_batches=1
    )
    trainer.fit(Scheduled(), loader())
    assert monitor.lrs == {"lr-SGD": [1.0, 0.5, 0.25]}


def test_learning_rate_monitor_without_logger_says_to_add_one(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[pl.callbacks.LearningRateMonitor()])
    with pytest.raises(pl.MisconfigurationException, match="needs a logger"):
        trainer.fit(RegressionModel(), loader())


def test_callback_state_is_saved_and_restored_under_its_state_key(tmp_path: Any) -> None:
    class Counter(pl.Callback):
        def __init__(self) -> None:
            self.batches = 0
            self.loaded: dict[str, Any] | None = None

        def on_train_batch_end(
            self,
            trainer: Any,
            pl_module: Any,
            outputs: Any,
            batch: Any,
            batch_idx: int,
            dataloader_idx: int,
        ) -> None:
            self.batches += 1

        def state_dict(self) -> dict[str, Any]:
            return {"batches": self.batches}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            self.batches = state_dict["batches"]

        def on_load_checkpoint(
            self, trainer: Any, pl_module: Any, callback_state: dict[str, Any]
        ) -> None:
            self.loaded = callback_state

    first = Counter()
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[first], max_epochs=2)
    trainer.fit(RegressionModel(), loader())
    path = trainer.checkpoint_callback.best_model_path
    assert torch.load(path, weights_only=True)["callbacks"][first.state_key] == {"batches": 8}

    second = Counter()
    resumed = quiet_trainer(
        tmp_path, logger=False, callbacks=[second], max_epochs=2, resume_from_checkpoint=path
    )
    resumed.fit(RegressionModel(), loader())
    assert second.batches == 8 and second.loaded == {"batches": 8}


def test_lightning_1_0_style_on_save_checkpoint_return_is_stored(tmp_path: Any) -> None:
    class OldStyle(pl.Callback):
        def on_save_checkpoint(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
            return {"note": "kept"}

        def on_load_checkpoint(self, checkpointed_state: dict[str, Any]) -> None:
            self.restored = checkpointed_state

    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[OldStyle()])
    trainer.fit(RegressionModel(), loader())
    path = trainer.checkpoint_callback.best_model_path
    assert torch.load(path, weights_only=True)["callbacks"][OldStyle().state_key] == {
        "note": "kept"
    }
    callback = OldStyle()
    quiet_trainer(tmp_path, logger=False, callbacks=[callback], resume_from_checkpoint=path).fit(
        RegressionModel(), loader()
    )
    assert callback.restored == {"note": "kept"}
