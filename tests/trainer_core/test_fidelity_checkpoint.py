"""ModelCheckpoint as Lightning 1.0.8 behaves: its scores, its paths without a monitor, the
file-name classmethod users call, the monitored key that was never logged, and the checkpoint
check once training ends (with its "Saving latest checkpoint..." log line)."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.callbacks import ModelCheckpoint


class SilentModel(RegressionModel):
    """Logs nothing at all."""

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None


def _fit(tmp_path: Any, checkpoint: ModelCheckpoint, model: Any = None, **flags: Any) -> Any:
    flags = {"limit_train_batches": 2, "logger": False, **flags}
    trainer = quiet_trainer(tmp_path, callbacks=[checkpoint], **flags)
    trainer.fit(model or RegressionModel(), loader(), loader())
    return trainer


# --- scores -------------------------------------------------------------------------------
def test_best_model_score_is_zero_before_any_save() -> None:
    assert ModelCheckpoint(monitor="val_loss").best_model_score == 0


def test_best_k_models_holds_tensor_scores_and_to_yaml_writes_their_values(tmp_path: Any) -> None:
    import yaml

    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val_loss", save_top_k=2)
    _fit(tmp_path, checkpoint, max_epochs=3)
    assert len(checkpoint.best_k_models) == 2
    assert all(isinstance(score, torch.Tensor) for score in checkpoint.best_k_models.values())
    assert isinstance(checkpoint.best_model_score, torch.Tensor)
    path = str(tmp_path / "best.yaml")
    checkpoint.to_yaml(path)
    with open(path) as fh:
        written = yaml.safe_load(fh)
    assert written == {k: v.item() for k, v in checkpoint.best_k_models.items()}


# --- without a monitor --------------------------------------------------------------------
def test_without_monitor_best_and_last_path_are_the_newest_file(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=-1)
    _fit(tmp_path, checkpoint, max_epochs=2)
    newest = str(tmp_path / "ckpt" / "epoch=1.ckpt")
    assert checkpoint.best_model_path == checkpoint.last_model_path == newest
    assert checkpoint.best_model_score == 0
    assert checkpoint.best_k_models == {}
    assert checkpoint.kth_best_model_path == ""
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch=0.ckpt", "epoch=1.ckpt"]


def test_save_top_k_zero_saves_nothing_and_sets_no_path(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=0)
    _fit(tmp_path, checkpoint, max_epochs=2)
    assert checkpoint.best_model_path == ""
    assert checkpoint.best_model_score == 0
    assert not (tmp_path / "ckpt").exists() or os.listdir(tmp_path / "ckpt") == []


# --- file names ---------------------------------------------------------------------------
def test_format_checkpoint_name_classmethod_spells_names_like_1_0() -> None:
    assert ModelCheckpoint._format_checkpoint_name("", 3, {}) == "epoch=3"
    assert ModelCheckpoint._format_checkpoint_name(None, 3, {}, prefix="test") == "test-epoch=3"
    assert ModelCheckpoint._format_checkpoint_name("ckpt", 3, {}, prefix="test") == "test-ckpt"
    name = ModelCheckpoint._format_checkpoint_name("{epoch:03d}-{acc}", 3, {"acc": 0.03})
    assert name == "epoch=003-acc=0.03"
    assert ModelCheckpoint._format_checkpoint_name("{missing:d}", 0, {}) == "missing=0"


def test_checkpoint_join_char_joins_prefix_and_version(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ModelCheckpoint, "CHECKPOINT_JOIN_CHAR", "@")
    name = ModelCheckpoint._format_checkpoint_name("{epoch},{acc:.5f}", 3, {"acc": 0.03}, "test")
    assert name == "test@epoch=3,acc=0.03000"
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path), filename="name", prefix="test")
    assert checkpoint.format_checkpoint_name(3, {}, ver=3) == str(tmp_path / "test@name@v3.ckpt")


def test_checkpoint_name_last_is_a_template_too(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ModelCheckpoint, "CHECKPOINT_NAME_LAST", "last-{epoch}")
    checkpoint = ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_loss", save_top_k=-1, save_last=True
    )
    _fit(tmp_path, checkpoint, max_epochs=3)
    assert checkpoint.last_model_path == str(tmp_path / "ckpt" / "last-epoch=2.ckpt")
    expected = {f"epoch={i}.ckpt" for i in range(3)} | {"last-epoch=2.ckpt"}
    assert set(os.listdir(tmp_path / "ckpt")) == expected


def test_filepath_naming_a_folder_that_does_not_exist_is_a_folder_and_a_file_name() -> None:
    with pytest.warns(DeprecationWarning):
        checkpoint = ModelCheckpoint(filepath="my/path/")
    assert checkpoint.dirpath == os.path.realpath("my")
    assert checkpoint.filename == "path"


# --- a monitored key that was never logged ------------------------------------------------
def test_monitor_missing_among_logged_values_raises(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val_acc")
    with pytest.raises(pl.MisconfigurationException, match=r"monitor='val_acc'\) not found"):
        _fit(tmp_path, checkpoint)


def test_monitor_with_nothing_logged_at_all_skips_the_save_and_warns(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val_loss")
    with pytest.warns(UserWarning, match="nothing was logged"):
        _fit(tmp_path, checkpoint, SilentModel(), max_epochs=2)
    assert checkpoint.best_model_path == ""
    assert checkpoint.best_model_score == 0


# --- once training ends -------------------------------------------------------------------
class SaveCounter(pl.Callback):
    def __init__(self) -> None:
        self.saved: list[str] = []

    def on_checkpoint_saved(self, trainer: Any, pl_module: Any, filepath: str) -> None:
        self.saved.append(os.path.basename(filepath))


def test_a_last_step_without_validation_after_it_is_checkpointed_when_training_ends(
    tmp_path: Any,
) -> None:
    # 4 batches, validation after batch 2 only: the last two steps would go unsaved
    counter = SaveCounter()
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=-1)
    trainer = quiet_trainer(
        tmp_path, logger=False, callbacks=[counter, checkpoint], val_check_interval=0.5
    )
    trainer.fit(RegressionModel(), loader(n=80), loader())
    # validation after batches 2 and 4, and the fifth batch is saved when training ends
    assert len(counter.saved) == 3


def test_no_extra_checkpoint_when_the_last_step_was_saved(tmp_path: Any) -> None:
    counter = SaveCounter()
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=-1)
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[counter, checkpoint], max_epochs=2)
    trainer.fit(RegressionModel(), loader(), loader())
    assert counter.saved == ["epoch=0.ckpt", "epoch=1.ckpt"]


def test_no_extra_checkpoint_without_validation(tmp_path: Any) -> None:
    counter = SaveCounter()
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"))
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[counter, checkpoint], max_epochs=2)
    trainer.fit(RegressionModel(), loader())
    assert counter.saved == ["epoch=0.ckpt", "epoch=1.ckpt"]


@pytest.mark.parametrize("save_last", [True, False])
def test_saving_latest_checkpoint_is_logged_once_with_save_last(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, save_last: bool
) -> None:
    checkpoint = ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_loss", save_last=save_last
    )
    with caplog.at_level(logging.INFO, logger="lightning"):
        _fit(tmp_path, checkpoint, max_epochs=2)
    assert caplog.messages.count("Saving latest checkpoint...") == int(save_last)


def test_passing_a_model_checkpoint_as_checkpoint_callback_is_deprecated(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint()
    with pytest.warns(DeprecationWarning, match="will no longer be supported in v1.3"):
        trainer = pl.Trainer(default_root_dir=str(tmp_path), checkpoint_callback=checkpoint)
    assert trainer.checkpoint_callback is checkpoint


# --- 1.0's step dicts as monitorable values ------------------------------------------------
class DictValidationModel(RegressionModel):
    """1.0-era code: validation_step returns {'val_loss': ...}, no validation_epoch_end."""

    def validation_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        x, y = batch
        return {"val_loss": torch.nn.functional.mse_loss(self(x), y), "batch": batch_idx}


def test_a_validation_step_dict_without_epoch_end_can_be_monitored(tmp_path: Any) -> None:
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val_loss")
    trainer = _fit(tmp_path, checkpoint, DictValidationModel())
    # the last validation batch's values (4 batches of 16)
    assert trainer.callback_metrics["batch"] == 3
    assert os.listdir(tmp_path / "ckpt") == ["epoch=0.ckpt"]
    assert checkpoint.best_model_score == trainer.callback_metrics["val_loss"]


def test_values_logged_with_self_log_win_over_the_step_dict(tmp_path: Any) -> None:
    class Both(DictValidationModel):
        def validation_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
            out = super().validation_step(batch, batch_idx)
            self.log("val_loss", torch.tensor(7.0))
            return out

    trainer = _fit(tmp_path, ModelCheckpoint(dirpath=str(tmp_path / "ckpt")), Both())
    assert trainer.callback_metrics["val_loss"] == 7.0


def test_extra_keys_of_a_training_step_dict_can_be_monitored(tmp_path: Any) -> None:
    class ExtraKey(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
            loss = super().training_step(batch, batch_idx)
            return {"loss": loss, "my_train_metric": loss * 2}

    stopping = pl.callbacks.EarlyStopping(monitor="my_train_metric", patience=0, min_delta=1e9)
    trainer = quiet_trainer(
        tmp_path, logger=False, callbacks=[stopping], max_epochs=5, limit_train_batches=2
    )
    trainer.fit(ExtraKey(), loader())
    assert "my_train_metric" in trainer.callback_metrics
    assert trainer.current_epoch < 4  # stopped early on the training-side value


def test_a_logged_step_value_sets_the_logger_row_step(tmp_path: Any) -> None:
    """1.0's `{'log': {'step': n, ...}}` from validation_epoch_end puts the row at step n."""

    class Rows(pl.loggers.LightningLoggerBase):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[tuple[dict[str, float], int | None]] = []

        name = "rows"
        version = 0
        experiment = None

        def log_hyperparams(self, params: Any) -> None:
            pass

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            self.rows.append((dict(metrics), step))

    class StepKey(RegressionModel):
        def validation_epoch_end(self, outputs: Any) -> dict[str, Any]:
            return {"log": {"step": 100 + self.current_epoch, "val_acc": 0.5}}

    logger = Rows()
    trainer = quiet_trainer(
        tmp_path, logger=logger, max_epochs=2, limit_train_batches=2, num_sanity_val_steps=0
    )
    with pytest.warns(UserWarning, match="should not return anything"):  # 1.0's warning
        trainer.fit(StepKey(), loader(), loader())
    val_rows = [(metrics, step) for metrics, step in logger.rows if "val_acc" in metrics]
    assert [step for _, step in val_rows] == [100, 101]
    assert all("step" not in metrics for metrics, _ in val_rows)


def test_a_low_refresh_rate_on_colab_warns(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLAB_GPU", "1")
    with pytest.warns(UserWarning, match="on Google Colab. This may crash."):
        trainer = pl.Trainer(default_root_dir=str(tmp_path), progress_bar_refresh_rate=19)
    assert trainer.progress_bar_callback.refresh_rate == 19


def test_limit_train_batches_zero_trains_nothing_and_runs_no_epoch_end(tmp_path: Any) -> None:
    class NoEpochs(RegressionModel):
        epoch_ends = 0

        def training_epoch_end(self, outputs: Any) -> None:
            NoEpochs.epoch_ends += 1

    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"))
    trainer = _fit(tmp_path, checkpoint, NoEpochs(), limit_train_batches=0, limit_val_batches=0)
    assert NoEpochs.epoch_ends == 0
    assert trainer.global_step == 0
    assert checkpoint.best_model_path == ""


def test_a_progress_bar_with_refresh_rate_zero_is_disabled_and_still_counts(tmp_path: Any) -> None:
    bar = pl.callbacks.ProgressBar(refresh_rate=0)
    assert bar.refresh_rate == 0
    assert bar.is_disabled
    trainer = quiet_trainer(tmp_path, callbacks=[bar], logger=False, limit_train_batches=3)
    trainer.fit(RegressionModel(), loader(), loader())
    assert bar.train_batch_idx == 3
    assert trainer.progress_bar_callback is bar


def test_training_epoch_end_may_return_0_9_log_dicts(tmp_path: Any) -> None:
    class LegacyEpochEnd(RegressionModel):
        def training_epoch_end(self, outputs: Any) -> dict[str, Any]:
            return {"log": {"train_acc": 0.25}, "progress_bar": {"shown": 1.0}}

    trainer = quiet_trainer(tmp_path, logger=False, limit_train_batches=2)
    with pytest.warns(DeprecationWarning, match="training_epoch_end is deprecated"):
        trainer.fit(LegacyEpochEnd(), loader())
    assert trainer.callback_metrics["train_acc"] == 0.25
    assert trainer.progress_bar_metrics["shown"] == 1.0


def test_callbacks_keep_the_given_order_and_checkpoints_hold_the_state_after_this_validation(
    tmp_path: Any,
) -> None:
    """`trainer.callbacks` is the user's list with the defaults appended (Lightning 1.0), but a
    ModelCheckpoint given before EarlyStopping still saves after it: the stored EarlyStopping
    state counts the validation the checkpoint was taken at, so a resumed run stops when the
    uninterrupted one would."""

    class Worsening(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", float(self.current_epoch))

    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    stopping = pl.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=3, callbacks=[checkpoint, stopping])
    assert trainer.callbacks[0] is checkpoint is trainer.checkpoint_callback
    assert trainer.callbacks[1] is stopping
    trainer.fit(Worsening(), loader(n=32), loader(n=16))
    saved = torch.load(checkpoint.last_model_path, weights_only=True)["callbacks"]
    (state,) = [value for name, value in saved.items() if "EarlyStopping" in name]
    assert stopping.wait_count == 2
    assert state["wait_count"] == stopping.wait_count
