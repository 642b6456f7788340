"""Lightning 1.0 behaviours users rely on, each as 1.0.8 documents and tests it (found with
scripts/lightning_suite.sh; issue 12)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.core.memory import UNKNOWN_SIZE, ModelSummary
from trainer_core.profiler import AdvancedProfiler, PassThroughProfiler, SimpleProfiler
from trainer_core.trainer.states import TrainerState


class Gathering(RegressionModel):
    def training_epoch_end(self, outputs: list[Any]) -> None:
        self.epoch_end_outputs = outputs


def test_train_batch_end_outputs_are_per_optimizer_per_split_with_minimize(tmp_path: Any) -> None:
    seen: dict[str, Any] = {}

    class Recorder(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx):  # type: ignore[no-untyped-def]
            seen["batch"] = outputs

        def on_train_epoch_end(self, trainer, pl_module, outputs):  # type: ignore[no-untyped-def]
            seen["epoch"] = outputs

    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[Recorder()])
    model = Gathering()
    trainer.fit(model, loader(n=64))
    entry = seen["batch"][0][0]
    assert "minimize" in entry and entry["minimize"].requires_grad is False
    assert len(seen["epoch"][0]) == trainer.num_training_batches == 4
    assert [set(o) for o in model.epoch_end_outputs] == [{"loss"}] * 4


def test_train_batch_end_outputs_are_empty_without_training_epoch_end(tmp_path: Any) -> None:
    seen = []

    class Recorder(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx):  # type: ignore[no-untyped-def]
            seen.append(outputs)

    quiet_trainer(tmp_path, logger=False, callbacks=[Recorder()]).fit(RegressionModel(), loader())
    assert seen == [[], [], [], []]


def test_progress_bars_stay_readable_after_fit_and_test(tmp_path: Any) -> None:
    bar = pl.callbacks.ProgressBar()
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[bar], num_sanity_val_steps=0)
    assert (bar.total_train_batches, bar.total_val_batches, bar.total_test_batches) == (0, 0, 0)
    trainer.fit(RegressionModel(), loader(n=64), loader(n=32))
    assert bar.main_progress_bar.total == bar.main_progress_bar.n == 4 + 2
    assert bar.val_progress_bar.total == 2 and bar.test_progress_bar is None
    trainer.test(test_dataloaders=loader(n=48), ckpt_path=None, verbose=False)
    assert bar.test_progress_bar.total == bar.test_progress_bar.n == 3


def test_two_progress_bars_are_refused() -> None:
    bars = [pl.callbacks.ProgressBar(), pl.callbacks.ProgressBar()]
    with pytest.raises(pl.MisconfigurationException, match=r"^You added multiple progress bar"):
        pl.Trainer(callbacks=bars, logger=False)


def test_model_checkpoint_configurations_as_in_1_0(tmp_path: Any) -> None:
    with pytest.raises(pl.MisconfigurationException, match=r"save_top_k=3, monitor=None\) is not"):
        pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_top_k=3)
    with pytest.warns(UserWarning, match=r"save_last=True, monitor=None\) is a redundant"):
        pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    unset = pl.callbacks.ModelCheckpoint()
    assert unset.dirpath is None and unset.filename is None
    assert unset.format_checkpoint_name(3, {}) == "epoch=3.ckpt"
    named = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, filename="{epoch}-{val_loss:.2f}")
    name = named.format_checkpoint_name(2, {"val_loss": 0.123456}, ver=1)
    assert os.path.basename(name) == "epoch=2-val_loss=0.12-v1.ckpt"


def test_model_checkpoint_period_zero_never_saves(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_top_k=-1, period=0)
    trainer = quiet_trainer(tmp_path / "run", logger=False, callbacks=[checkpoint], max_epochs=2)
    trainer.fit(RegressionModel(), loader(), loader())
    assert not list(tmp_path.rglob("*.ckpt")) and checkpoint.best_model_path == ""


def test_built_in_callbacks_answer_the_two_argument_on_save_checkpoint(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, monitor="val_loss")
    stopping = pl.callbacks.EarlyStopping(monitor="val_loss")
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[checkpoint, stopping])
    model = RegressionModel()
    trainer.fit(model, loader(), loader())
    assert (
        checkpoint.on_save_checkpoint(trainer, model)["best_model_path"]
        == checkpoint.best_model_path
    )
    assert "wait_count" in stopping.on_save_checkpoint(trainer, model)


class TwoOptimizers(RegressionModel):
    def training_step(self, batch: Any, batch_idx: int, optimizer_idx: int = 0) -> torch.Tensor:
        return super().training_step(batch, batch_idx)

    def configure_optimizers(self) -> Any:
        first = torch.optim.SGD(self.parameters(), lr=0.01)
        second = torch.optim.Adam(self.parameters(), lr=0.01)
        steps = [torch.optim.lr_scheduler.StepLR(o, step_size=1) for o in (first, second)]
        return [first, second], steps


def test_training_epoch_end_gets_one_list_per_optimizer(tmp_path: Any) -> None:
    """1.0 with several optimizers (automatic optimization): outputs[optimizer_idx][batch]."""

    class Gathered(TwoOptimizers):
        def training_step(self, batch: Any, batch_idx: int, optimizer_idx: int = 0) -> Any:
            loss = super().training_step(batch, batch_idx, optimizer_idx)
            return {"loss": loss, "opt": optimizer_idx}

        def training_epoch_end(self, outputs: list[Any]) -> None:
            self.epoch_end_outputs = outputs

    model = Gathered()
    quiet_trainer(tmp_path, logger=False).fit(model, loader(n=64))
    assert [[o["opt"] for o in per_opt] for per_opt in model.epoch_end_outputs] == [
        [0] * 4,
        [1] * 4,
    ]


def test_lr_monitor_at_step_interval_logs_every_optimizer_each_logged_step(tmp_path: Any) -> None:
    monitor = pl.callbacks.LearningRateMonitor(logging_interval="step")
    logger = pl.loggers.CSVLogger(str(tmp_path))
    trainer = quiet_trainer(tmp_path, logger=logger, callbacks=[monitor], log_every_n_steps=2)
    trainer.fit(TwoOptimizers(), loader(n=128))  # 8 batches: steps 1, 3, 5, 7 are logged
    assert set(monitor.lrs) == {"lr-SGD", "lr-Adam"}
    assert [len(v) for v in monitor.lrs.values()] == [4, 4]


def test_lr_monitor_warns_without_schedulers_and_names_the_missing_logger(tmp_path: Any) -> None:
    trainer = quiet_trainer(
        tmp_path,
        logger=pl.loggers.CSVLogger(str(tmp_path)),
        callbacks=[pl.callbacks.LearningRateMonitor()],
    )
    with pytest.warns(RuntimeWarning, match="no learning rate schedulers"):
        trainer.fit(RegressionModel(), loader())
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[pl.callbacks.LearningRateMonitor()])
    with pytest.raises(pl.MisconfigurationException, match="Trainer that has no logger"):
        trainer.fit(RegressionModel(), loader())


@pytest.mark.parametrize(
    ("flag", "kind"),
    [
        (None, PassThroughProfiler),
        (True, SimpleProfiler),
        ("simple", SimpleProfiler),
        ("Advanced", AdvancedProfiler),
    ],
)
def test_profiler_flag_picks_the_profiler(flag: Any, kind: type) -> None:
    assert isinstance(pl.Trainer(profiler=flag, logger=False).profiler, kind)


def test_profiler_flag_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="can only be 'simple' or 'advanced'"):
        pl.Trainer(profiler="unknown", logger=False)
    with pytest.raises(pl.MisconfigurationException, match="Only None, bool, str and subclasses"):
        pl.Trainer(profiler=42, logger=False)


def test_simple_profiler_times_each_training_epoch_and_writes_its_report(tmp_path: Any) -> None:
    profiler = SimpleProfiler(output_filename=str(tmp_path / "profile.txt"))
    quiet_trainer(tmp_path, logger=False, profiler=profiler, max_epochs=2).fit(
        RegressionModel(), loader()
    )
    assert len(profiler.recorded_durations["run_training_epoch"]) == 2
    assert "run_training_epoch" in (tmp_path / "profile.txt").read_text()


def test_trainer_state_follows_fit_and_test(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False)
    assert trainer.state == TrainerState.INITIALIZING
    trainer.fit(RegressionModel(), loader())
    assert trainer.state == TrainerState.FINISHED == "finished"
    trainer.test(test_dataloaders=loader(), ckpt_path=None, verbose=False)
    assert trainer.state == TrainerState.FINISHED


def test_summarize_returns_a_model_summary_with_sizes() -> None:
    model = RegressionModel()
    full = model.summarize(mode=ModelSummary.MODE_FULL)
    assert full.layer_names == ["net", "net.0", "net.1", "net.2", "net.3"]
    assert full.layer_types == ["Sequential", "Linear", "ReLU", "Dropout", "Linear"]
    top = model.summarize()
    assert top.in_sizes == [[2, 4]] and top.out_sizes == [[2, 1]]
    assert top.param_nums == [sum(p.numel() for p in model.parameters())]
    assert "Trainable params" in str(top)
    model.example_input_array = None
    assert model.summarize().in_sizes == [UNKNOWN_SIZE]


def test_track_grad_norm_logs_the_gradient_norms(tmp_path: Any) -> None:
    logger = pl.loggers.CSVLogger(str(tmp_path))
    trainer = quiet_trainer(tmp_path, logger=logger, track_grad_norm=2, log_every_n_steps=1)
    trainer.fit(RegressionModel(), loader())
    logged = {key for row in logger.rows for key in row}
    assert {"grad_2.0_norm_total", "grad_2.0_norm_net.0.weight"} <= logged


def test_overfit_batches_trains_and_validates_on_the_same_unshuffled_batches(tmp_path: Any) -> None:
    seen: dict[str, list[torch.Tensor]] = {"train": [], "val": []}

    class Recording(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            seen["train"].append(batch[0])
            return super().training_step(batch, batch_idx)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            seen["val"].append(batch[0])

    trainer = quiet_trainer(tmp_path, logger=False, overfit_batches=2, num_sanity_val_steps=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(Recording(), loader(shuffle=True), loader(n=32, seed=5))
    assert any("overfit" in str(w.message) for w in caught)
    assert trainer.num_training_batches == 2
    first_two = [b[0] for b in list(loader())[:2]]
    for got in (seen["train"], seen["val"]):
        assert all(torch.equal(a, b) for a, b in zip(got, first_two, strict=True))


def test_csv_logger_save_with_nothing_logged_creates_the_version_folder(tmp_path: Any) -> None:
    logger = pl.loggers.CSVLogger(str(tmp_path), name=None)
    logger.save()
    assert os.listdir(tmp_path) == ["version_0"]


def test_default_tensorboard_logger_writes_an_event_file_when_fit_starts(tmp_path: Any) -> None:
    class Silent(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return torch.nn.functional.mse_loss(self(x), y)

    trainer = quiet_trainer(tmp_path, logger=True, checkpoint_callback=False, max_steps=1)
    trainer.fit(Silent(), loader())
    folder = tmp_path / "lightning_logs" / "version_0"
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(folder))


def test_rank_zero_only_comes_from_utilities() -> None:
    from trainer_core.utilities import rank_zero_only

    calls = []
    rank_zero_only(lambda: calls.append(1))()
    assert calls == [1]


def test_amp_backend_names_come_from_utilities_as_strings() -> None:
    from trainer_core.utilities import AMPType

    assert AMPType.NATIVE == "native" and AMPType("apex") is AMPType.APEX


def test_sanity_check_bar_counts_only_the_sanity_batches(tmp_path: Any) -> None:
    totals = []

    class Bar(pl.callbacks.ProgressBar):
        def on_validation_epoch_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            totals.append(self.val_progress_bar.total)

    trainer = quiet_trainer(
        tmp_path, logger=False, callbacks=[Bar()], num_sanity_val_steps=2, limit_train_batches=1
    )
    trainer.fit(RegressionModel(), loader(), loader(n=80))  # 5 validation batches
    assert totals == [2, 5]


def test_progress_bar_advances_by_refresh_rate_and_never_past_the_total(tmp_path: Any) -> None:
    from unittest.mock import Mock, call

    class Counting(pl.callbacks.ProgressBar):
        def init_train_tqdm(self) -> Any:
            bar = super().init_train_tqdm()
            bar.update = Mock(wraps=bar.update)
            return bar

        def init_validation_tqdm(self) -> Any:
            bar = super().init_validation_tqdm()
            bar.update = Mock(wraps=bar.update)
            return bar

    bar = Counting(refresh_rate=3)
    trainer = quiet_trainer(
        tmp_path, logger=False, callbacks=[bar], limit_train_batches=5, limit_val_batches=2
    )
    trainer.fit(RegressionModel(), loader(n=128), loader(n=64))
    bar.main_progress_bar.update.assert_has_calls([call(3), call(3), call(1)])
    bar.val_progress_bar.update.assert_has_calls([call(2)])


def test_a_step_set_to_none_is_switched_off_and_the_trainer_pickles(tmp_path: Any) -> None:
    model = RegressionModel()
    model.validation_step = None  # type: ignore[assignment,method-assign]
    trainer = quiet_trainer(tmp_path, logger=True, progress_bar_refresh_rate=1)
    trainer.fit(model, loader(), loader())
    assert not trainer.enable_validation
    torch.save(trainer, tmp_path / "trainer.pt")


def test_one_zero_module_paths_for_checkpoints_argparse_and_csv(tmp_path: Any) -> None:
    from argparse import ArgumentParser

    from trainer_core.loggers.csv_logs import ExperimentWriter
    from trainer_core.utilities import argparse_utils, cloud_io

    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(RegressionModel(), loader())
    trainer.save_checkpoint(str(tmp_path / "m.ckpt"))
    assert cloud_io.load(str(tmp_path / "m.ckpt"))["global_step"] == trainer.global_step
    parser = argparse_utils.add_argparse_args(pl.Trainer, ArgumentParser())
    assert parser.parse_args(["--max_epochs", "2"]).max_epochs == 2
    flags = {
        name: default
        for name, _, default in argparse_utils.get_init_arguments_and_types(pl.Trainer)
    }
    assert flags["max_epochs"] == 1000
    logger = pl.loggers.CSVLogger(str(tmp_path), name="csv")
    logger.log_metrics({"a": 1.0}, step=0)
    logger.save()
    assert isinstance(logger.experiment, ExperimentWriter)
    assert os.path.isfile(os.path.join(logger.log_dir, ExperimentWriter.NAME_METRICS_FILE))


def test_test_records_which_checkpoint_it_loaded(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, monitor="val_loss")
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[checkpoint])
    trainer.fit(RegressionModel(), loader(), loader())
    assert trainer.tested_ckpt_path is None
    trainer.test(test_dataloaders=loader(), verbose=False)
    assert trainer.tested_ckpt_path == checkpoint.best_model_path != ""


@pytest.mark.parametrize(("stage", "hook"), [("validation", "validation"), ("test", "testing")])
def test_an_eval_epoch_end_that_returns_something_is_warned_about(
    tmp_path: Any, stage: str, hook: str
) -> None:
    class Returning(RegressionModel):
        def validation_epoch_end(self, outputs: list[Any]) -> Any:
            return {"no returns needed"}

        def test_epoch_end(self, outputs: list[Any]) -> Any:
            return {"no returns needed"}

    model = Returning()
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    with pytest.warns(UserWarning, match=f"The {hook}_epoch_end should not return anything"):
        if stage == "validation":
            trainer.fit(model, loader(n=32), loader(n=32))
        else:
            trainer.test(model, loader(n=32))
