"""`self.log` semantics (Lightning 1.0 defaults, epoch means, metric objects) and loggers."""

from __future__ import annotations

import csv
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


class MemoryLogger(pl.loggers.LightningLoggerBase):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int | None, dict[str, float]]] = []
        self.hparams: Any = None
        self.statuses: list[str] = []

    name = "memory"
    version = 0
    experiment = None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((step, dict(metrics)))

    def log_hyperparams(self, params: Any) -> None:
        self.hparams = dict(params)

    def finalize(self, status: str) -> None:
        super().finalize(status)
        self.statuses.append(status)


def test_training_step_logs_on_step_and_validation_step_on_epoch_by_default(tmp_path: Any) -> None:
    logger = MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=logger, log_every_n_steps=1, num_sanity_val_steps=0)
    trainer.fit(RegressionModel(), loader(n=32), loader(n=32))
    keys_per_call = [set(metrics) for _, metrics in logger.calls]
    assert keys_per_call == [
        {"train_loss", "epoch"},
        {"train_loss", "epoch"},
        {"val_loss", "epoch"},
    ]
    assert [step for step, _ in logger.calls] == [0, 1, 1]


def test_epoch_values_are_batch_size_weighted_means(tmp_path: Any) -> None:
    class Logs(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.log("size", float(len(batch[0])), on_step=False, on_epoch=True)
            return super().training_step(batch, batch_idx)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("vsize", float(len(batch[0])))

    data = loader(n=10, batch_size=4)  # batches of 4, 4, 2
    trainer = quiet_trainer(tmp_path, logger=False, num_sanity_val_steps=0)
    trainer.fit(Logs(), data, data)
    expected = (4 * 4 + 4 * 4 + 2 * 2) / 10
    assert trainer.callback_metrics["size"].item() == pytest.approx(expected)
    assert trainer.callback_metrics["vsize"].item() == pytest.approx(expected)


def test_reduce_fx_other_than_mean_reduces_the_step_values(tmp_path: Any) -> None:
    class Logs(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.log("biggest", float(batch_idx), on_epoch=True, on_step=False, reduce_fx=torch.max)
            return super().training_step(batch, batch_idx)

    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(Logs(), loader(n=64, batch_size=16))
    assert trainer.callback_metrics["biggest"].item() == 3.0


def test_log_in_epoch_end_with_on_step_true_is_refused(tmp_path: Any) -> None:
    class Bad(RegressionModel):
        def validation_epoch_end(self, outputs: list[Any]) -> None:
            self.log("x", 1.0, on_step=True)

    with pytest.raises(
        pl.MisconfigurationException, match=r"on_step=True\) is not allowed in validation_epoch_end"
    ):
        quiet_trainer(tmp_path, logger=False).fit(Bad(), loader(), loader())


def test_logged_metric_object_gives_batch_value_on_step_and_compute_then_reset_on_epoch(
    tmp_path: Any,
) -> None:
    class FakeMetric(torch.nn.Module):
        """Duck-typed like a torchmetrics Metric: forward caches the batch value."""

        def __init__(self) -> None:
            super().__init__()
            self.total = 0.0
            self.resets = 0
            self._forward_cache: torch.Tensor | None = None

        def forward(self, value: float) -> torch.Tensor:
            self.total += value
            self._forward_cache = torch.tensor(value)
            return self._forward_cache

        def compute(self) -> torch.Tensor:
            return torch.tensor(self.total)

        def reset(self) -> None:
            self.total = 0.0
            self.resets += 1

    class Logs(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.metric = FakeMetric()

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.metric(float(batch_idx + 1))
            self.log("m", self.metric, on_step=True, on_epoch=True)
            return super().training_step(batch, batch_idx)

    model = Logs()
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(model, loader(n=48, batch_size=16))
    assert trainer.callback_metrics["m_step"].item() == 3.0
    assert trainer.callback_metrics["m_epoch"].item() == 6.0
    assert model.metric.resets == 1


def test_torchmetrics_metric_objects_can_be_logged(tmp_path: Any) -> None:
    torchmetrics = pytest.importorskip("torchmetrics")

    class Logs(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.mse = torchmetrics.MeanSquaredError()

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.mse(self(x), y)
            self.log("val_mse", self.mse)

    trainer = quiet_trainer(tmp_path, logger=False, num_sanity_val_steps=0)
    model = Logs()
    trainer.fit(model, loader(), loader(n=32))
    assert trainer.callback_metrics["val_mse"] > 0


def test_log_every_n_steps_thins_step_logging(tmp_path: Any) -> None:
    logger = MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=logger, log_every_n_steps=2)
    trainer.fit(RegressionModel(), loader(n=64, batch_size=8))
    assert [step for step, m in logger.calls if "train_loss" in m] == [1, 3, 5, 7]


def test_hyperparameters_reach_the_logger(tmp_path: Any) -> None:
    logger = MemoryLogger()
    quiet_trainer(tmp_path, logger=logger).fit(RegressionModel(hidden=5), loader())
    assert logger.hparams == {"hidden": 5, "lr": 0.05, "dropout": 0.0}


def test_failing_training_step_propagates_after_loggers_finalize_as_failed(tmp_path: Any) -> None:
    class Broken(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            raise RuntimeError("user bug")

    logger = MemoryLogger()
    with pytest.raises(RuntimeError, match="user bug"):
        quiet_trainer(tmp_path, logger=logger).fit(Broken(), loader())
    assert logger.statuses == ["failed"]


def test_successful_fit_finalizes_loggers_with_success(tmp_path: Any) -> None:
    logger = MemoryLogger()
    quiet_trainer(tmp_path, logger=logger).fit(RegressionModel(), loader())
    assert logger.statuses == ["success"]


def test_keyboard_interrupt_ends_fit_gracefully(tmp_path: Any) -> None:
    class Interrupted(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            raise KeyboardInterrupt

    logger = MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=logger)
    trainer.fit(Interrupted(), loader())
    assert trainer.interrupted and logger.statuses == ["interrupted"]


def test_default_logger_writes_tensorboard_events_under_lightning_logs(tmp_path: Any) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = quiet_trainer(tmp_path, log_every_n_steps=1)
    trainer.fit(RegressionModel(), loader(n=32), loader(n=32))
    log_dir = tmp_path / "lightning_logs" / "version_0"
    assert trainer.log_dir == str(log_dir)
    assert (log_dir / "hparams.yaml").exists()
    assert (log_dir / "checkpoints" / "epoch=0.ckpt").exists()
    events = EventAccumulator(str(log_dir))
    events.Reload()
    assert {"train_loss", "val_loss"} <= set(events.Tags()["scalars"])
    assert len(events.Scalars("train_loss")) == 2


def test_second_run_gets_the_next_version_folder(tmp_path: Any) -> None:
    quiet_trainer(tmp_path).fit(RegressionModel(), loader())
    trainer = quiet_trainer(tmp_path)
    trainer.fit(RegressionModel(), loader())
    assert trainer.logger.version == 1


def test_csv_logger_writes_one_row_per_logged_step(tmp_path: Any) -> None:
    csv_logger = pl.loggers.CSVLogger(str(tmp_path), name="csv")
    trainer = quiet_trainer(
        tmp_path, logger=csv_logger, log_every_n_steps=1, num_sanity_val_steps=0
    )
    trainer.fit(RegressionModel(), loader(n=32), loader(n=32))
    with open(tmp_path / "csv" / "version_0" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["step"] for row in rows] == ["0", "1", "1"]
    assert rows[0]["train_loss"] and rows[2]["val_loss"]
    assert list(rows[0])[:3] == ["train_loss", "epoch", "step"]


def test_a_list_of_loggers_becomes_a_collection(tmp_path: Any) -> None:
    first, second = MemoryLogger(), MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=[first, second], log_every_n_steps=1)
    trainer.fit(RegressionModel(), loader(n=32))
    assert isinstance(trainer.logger, pl.loggers.LoggerCollection)
    assert first.calls == second.calls and first.calls


def test_logger_aggregates_dicts_logged_at_the_same_step() -> None:
    logger = MemoryLogger()
    logger.agg_and_log_metrics({"a": 1.0}, step=0)
    logger.agg_and_log_metrics({"a": 3.0, "b": 1.0}, step=0)
    logger.agg_and_log_metrics({"a": 5.0}, step=1)
    logger.save()
    assert logger.calls == [(0, {"a": 2.0, "b": 1.0}), (1, {"a": 5.0})]


def test_progress_bar_shows_prog_bar_metrics_loss_and_version(tmp_path: Any, capsys: Any) -> None:
    trainer = quiet_trainer(tmp_path, progress_bar_refresh_rate=1)
    trainer.fit(RegressionModel(), loader(n=32), loader(n=32))
    shown = trainer.progress_bar_dict
    assert {"loss", "v_num", "val_loss"} <= set(shown)
    assert "Epoch 0" in capsys.readouterr().out


def test_uneven_dataset_without_len_runs_all_batches(tmp_path: Any) -> None:
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self) -> Any:
            data = TensorDataset(torch.randn(20, 4), torch.randn(20, 1))
            return iter(data)

    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(RegressionModel(), DataLoader(Stream(), batch_size=8))
    assert trainer.global_step == 3


def test_values_logged_in_epoch_end_hooks_reach_callbacks_and_the_logger(tmp_path: Any) -> None:
    class HookLogging(RegressionModel):
        def on_train_epoch_end(self, outputs: Any = None) -> None:
            self.log("train_hook", 2.0)

        def on_validation_epoch_end(self) -> None:
            self.log("val_hook", 3.0)

    logger = MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=logger, num_sanity_val_steps=0)
    trainer.fit(HookLogging(), loader(n=32), loader(n=32))
    assert trainer.callback_metrics["train_hook"].item() == 2.0
    assert trainer.callback_metrics["val_hook"].item() == 3.0
    logged = {key for _, metrics in logger.calls for key in metrics}
    assert {"train_hook", "val_hook"} <= logged


def test_eval_step_values_logged_on_step_go_to_the_logger_as_one_line_per_epoch(
    tmp_path: Any,
) -> None:
    """Lightning 1.0: a validation_step value logged with on_step=True reaches the logger as
    `{name}_step/epoch_{N}` at the batch's index in the loop (no 'epoch' column), and callbacks
    see its epoch value but no `_step` name."""

    class StepLogs(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("v", float(batch_idx), on_step=True, on_epoch=True)

    logger = MemoryLogger()
    trainer = quiet_trainer(
        tmp_path, logger=logger, max_epochs=2, num_sanity_val_steps=1, log_every_n_steps=50
    )
    trainer.fit(StepLogs(), loader(n=32), loader(n=48))  # three validation batches per epoch
    step_rows = [(step, row) for step, row in logger.calls if any("/epoch_" in k for k in row)]
    assert step_rows == [
        (idx, {f"v_step/epoch_{epoch}": float(idx)}) for epoch in (0, 1) for idx in range(3)
    ]  # the sanity check sends none
    assert {"v_step/epoch_0", "v_step/epoch_1", "v_epoch"} <= set(trainer.logged_metrics)
    assert trainer.callback_metrics["v"].item() == pytest.approx(1.0)
    assert trainer.callback_metrics["v_epoch"].item() == pytest.approx(1.0)
    assert "v_step" not in trainer.callback_metrics
