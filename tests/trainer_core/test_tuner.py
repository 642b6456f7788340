"""`trainer.tune()`: the learning-rate finder and batch-size scaling (Lightning 1.0), and that
both leave the model's weights and the trainer exactly as they found them."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, quiet_trainer, regression_data
from trainer_core.tuner import LRFinder

RESTORED = (
    "callbacks",
    "logger",
    "max_steps",
    "max_epochs",
    "min_epochs",
    "auto_lr_find",
    "auto_scale_batch_size",
    "accumulate_grad_batches",
    "checkpoint_callback",
    "limit_train_batches",
    "weights_summary",
    "current_epoch",
    "global_step",
    "num_sanity_val_steps",
)


class BatchSizeModel(RegressionModel):
    """Builds its loaders from `self.batch_size`; a batch larger than `oom_above` raises the
    error CUDA raises when memory runs out (so the search has a limit on the CPU too)."""

    def __init__(self, batch_size: int = 8, oom_above: int | None = None, n: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.oom_above = oom_above
        self.n = n
        self.sizes_tried: list[int] = []

    def train_dataloader(self) -> DataLoader:
        return DataLoader(regression_data(self.n), batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(regression_data(16, seed=1), batch_size=8)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        size = len(batch[0])
        if batch_idx == 0:
            self.sizes_tried.append(size)
        if self.oom_above is not None and size > self.oom_above:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().training_step(batch, batch_idx)


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _snapshot(trainer: pl.Trainer) -> dict[str, Any]:
    return {name: getattr(trainer, name) for name in RESTORED}


def _finder_trainer(tmp_path: Any, **flags: Any) -> pl.Trainer:
    # the finder's steps may span epochs; Lightning 1.0 keeps the trainer's max_epochs
    return quiet_trainer(tmp_path, max_epochs=100, **flags)


# --- learning-rate finder ---------------------------------------------------------------------
def test_lr_find_sweeps_exponentially_and_puts_the_model_and_trainer_back(tmp_path: Any) -> None:
    model = BatchSizeModel(batch_size=4)
    trainer = _finder_trainer(tmp_path, logger=True, checkpoint_callback=True)
    weights, before = _weights(model), _snapshot(trainer)
    finder = trainer.tuner.lr_find(
        model, min_lr=1e-5, max_lr=1e-1, num_training=20, early_stop_threshold=None
    )
    assert isinstance(finder, LRFinder)
    lrs, losses = finder.results["lr"], finder.results["loss"]
    assert len(lrs) == len(losses) == 20
    assert lrs[0] == pytest.approx(1e-5)
    ratios = [b / a for a, b in itertools.pairwise(lrs)]
    assert ratios == pytest.approx([(1e-1 / 1e-5) ** (1 / 20)] * 19)
    assert all(math.isfinite(loss) for loss in losses)
    assert finder.suggestion(skip_begin=2) in lrs
    for key, value in _weights(model).items():
        assert torch.equal(value, weights[key]), key
    assert _snapshot(trainer) == before
    assert "configure_optimizers" not in vars(model) and "training_step" not in vars(model)
    assert not list(tmp_path.rglob("*.ckpt"))  # the trials wrote no checkpoints...
    trainer.max_epochs = 1
    trainer.fit(model)  # ...and the real fit trains with the model's own optimizer
    assert trainer.global_step == 16
    assert trainer.optimizers[0].param_groups[0]["lr"] == model.hparams.lr


def test_lr_find_linear_mode_steps_evenly(tmp_path: Any) -> None:
    trainer = _finder_trainer(tmp_path)
    finder = trainer.tuner.lr_find(
        BatchSizeModel(batch_size=4), min_lr=0.01, max_lr=0.11, num_training=10, mode="linear"
    )
    assert finder.results["lr"] == pytest.approx([0.01 * (i + 1) for i in range(10)])


def test_lr_find_stops_early_when_the_loss_diverges(tmp_path: Any) -> None:
    trainer = _finder_trainer(tmp_path)
    finder = trainer.tuner.lr_find(
        BatchSizeModel(batch_size=4), min_lr=1e-3, max_lr=1e3, num_training=60
    )
    steps = len(finder.results["loss"])
    assert 1 < steps < 60
    assert finder.results["loss"][-1] > 4.0 * min(finder.results["loss"])
    assert trainer.max_steps is None and trainer.should_stop is False  # both put back


def test_lr_find_counts_optimizer_steps_under_gradient_accumulation(tmp_path: Any) -> None:
    trainer = _finder_trainer(tmp_path, accumulate_grad_batches=2)
    finder = trainer.tuner.lr_find(
        BatchSizeModel(batch_size=4), num_training=12, early_stop_threshold=None
    )
    assert len(finder.results["lr"]) == 12
    assert finder._total_batch_idx == 2 * 12 - 1  # the last batch's index, as in 1.0


def test_suggestion_skips_points_and_ignores_non_finite_losses() -> None:
    finder = LRFinder("exponential", 1e-4, 1.0, 8)
    finder.results = {
        "lr": [1e-4 * 10 ** (i / 2) for i in range(8)],
        "loss": [5.0, 4.9, 4.0, 2.0, 1.8, 1.7, 3.0, 9.0],
    }
    assert finder.suggestion(skip_begin=0) == finder.results["lr"][2]  # steepest descent
    assert finder.suggestion(skip_begin=4) == finder.results["lr"][4]
    finder.results["loss"][-1] = math.nan
    assert finder.suggestion(skip_begin=0) == finder.results["lr"][2]
    with pytest.warns(UserWarning, match="no suggestion"):
        assert finder.suggestion(skip_begin=7) is None


def test_lr_find_refuses_two_optimizers_and_an_unknown_mode(tmp_path: Any) -> None:
    class TwoOptimizers(BatchSizeModel):
        def configure_optimizers(self) -> Any:
            return [torch.optim.SGD(self.parameters(), lr=0.1)] * 2

    trainer = _finder_trainer(tmp_path)
    with pytest.raises(pl.MisconfigurationException, match="exactly one"):
        trainer.tuner.lr_find(TwoOptimizers(batch_size=4), num_training=5)
    with pytest.raises(pl.MisconfigurationException, match="'linear' or 'exponential'"):
        trainer.tuner.lr_find(BatchSizeModel(), mode="cosine")


def test_tune_writes_the_suggested_rate_to_lr_in_hparams_or_to_a_named_field(
    tmp_path: Any,
) -> None:
    model = BatchSizeModel(batch_size=4)  # its lr lives in model.hparams
    trainer = _finder_trainer(tmp_path, auto_lr_find=True)
    trainer.tune(model)
    assert model.hparams.lr != 0.05 and "lr" not in vars(model)
    assert trainer.auto_lr_find is True

    named = BatchSizeModel(batch_size=4)
    named.my_lr = 1.0  # type: ignore[assignment]
    _finder_trainer(tmp_path, auto_lr_find="my_lr").tune(named)
    assert named.my_lr != 1.0 and named.hparams.lr == 0.05

    with pytest.raises(pl.MisconfigurationException, match="'missing'"):
        _finder_trainer(tmp_path, auto_lr_find="missing").tune(BatchSizeModel(batch_size=4))


def test_lr_finder_plot_draws_loss_against_lr(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    finder = _finder_trainer(tmp_path).tuner.lr_find(BatchSizeModel(batch_size=4), num_training=15)
    figure = finder.plot(suggest=True)
    assert figure.axes[0].get_xscale() == "log"


# --- batch-size scaling -----------------------------------------------------------------------
def test_power_scaling_doubles_up_to_the_dataset_and_restores_everything(tmp_path: Any) -> None:
    model = BatchSizeModel(batch_size=8, n=48)
    trainer = quiet_trainer(tmp_path, logger=True, limit_train_batches=0.5, limit_val_batches=0)
    weights, before = _weights(model), _snapshot(trainer)
    found = trainer.tuner.scale_batch_size(model, mode="power", steps_per_trial=1)
    assert found == 48 and model.batch_size == 48  # 2, 4, ..., 32, then the whole dataset
    assert model.sizes_tried == [2, 4, 8, 16, 32, 48]
    for key, value in _weights(model).items():
        assert torch.equal(value, weights[key]), key
    assert _snapshot(trainer) == before


def test_power_scaling_keeps_half_the_size_that_ran_out_of_memory(tmp_path: Any) -> None:
    model = BatchSizeModel(oom_above=20)
    trainer = quiet_trainer(tmp_path, limit_val_batches=0)
    found = trainer.tuner.scale_batch_size(model, mode="power", steps_per_trial=1)
    assert found == 16 and model.sizes_tried == [2, 4, 8, 16, 32]


def test_binsearch_scaling_bisects_between_the_last_fit_and_the_first_failure(
    tmp_path: Any,
) -> None:
    model = BatchSizeModel(oom_above=20)
    trainer = quiet_trainer(tmp_path, limit_val_batches=0)
    found = trainer.tuner.scale_batch_size(model, mode="binsearch", steps_per_trial=1)
    assert found == 20
    assert model.sizes_tried == [2, 4, 8, 16, 32, 24, 20, 22, 21]


def test_scaling_lets_errors_other_than_out_of_memory_through(tmp_path: Any) -> None:
    class Broken(BatchSizeModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            raise RuntimeError("shape mismatch")

    model = Broken()
    trainer = quiet_trainer(tmp_path)
    before = _snapshot(trainer)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        trainer.tuner.scale_batch_size(model)
    assert _snapshot(trainer) == before  # put back on the way out too


def test_tune_scales_the_batch_size_kept_in_hparams_or_on_the_datamodule(tmp_path: Any) -> None:
    class InHparams(RegressionModel):
        def __init__(self, batch_size: int = 4) -> None:
            super().__init__()
            self.hparams["batch_size"] = batch_size

        def train_dataloader(self) -> DataLoader:
            return DataLoader(regression_data(32), batch_size=self.hparams.batch_size)

    model = InHparams()
    quiet_trainer(tmp_path, auto_scale_batch_size="binsearch", limit_val_batches=0).tune(model)
    assert model.hparams.batch_size == 32

    class Data(pl.LightningDataModule):
        def __init__(self) -> None:
            super().__init__()
            self.batch_size = 3

        def train_dataloader(self) -> DataLoader:
            return DataLoader(regression_data(40), batch_size=self.batch_size)

    data = Data()
    trainer = quiet_trainer(tmp_path, auto_scale_batch_size=True, limit_val_batches=0)
    trainer.tune(RegressionModel(), datamodule=data)
    assert data.batch_size == 40
    assert trainer.datamodule is data


def test_tune_refuses_a_loader_passed_in_and_warns_about_two_batch_size_fields(
    tmp_path: Any,
) -> None:
    trainer = quiet_trainer(tmp_path, auto_scale_batch_size="power")
    model = BatchSizeModel()
    with pytest.raises(pl.MisconfigurationException, match="DataLoader passed"):
        trainer.tune(model, train_dataloader=model.train_dataloader())

    model.hparams["batch_size"] = 8  # now in both places
    with pytest.warns(UserWarning, match="mutually exclusive"):
        quiet_trainer(tmp_path, auto_scale_batch_size=True, limit_val_batches=0).tune(model)

    with pytest.raises(pl.MisconfigurationException, match="'batch_size'"):
        quiet_trainer(tmp_path).tuner.scale_batch_size(RegressionModel())
    with pytest.raises(pl.MisconfigurationException, match="auto_scale_batch_size='huge'"):
        pl.Trainer(auto_scale_batch_size="huge")


def test_tune_scales_the_batch_size_then_finds_the_rate(tmp_path: Any) -> None:
    model = BatchSizeModel(batch_size=4, n=32)
    trainer = _finder_trainer(
        tmp_path, auto_scale_batch_size=True, auto_lr_find=True, limit_val_batches=0
    )
    trainer.tune(model)
    assert model.batch_size == 32
    assert model.hparams.lr != 0.05
    assert trainer.auto_scale_batch_size is True and trainer.auto_lr_find is True


def test_tuning_a_multi_process_trainer_is_refused_with_what_to_do(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, accelerator="ddp_cpu", num_processes=2)
    with pytest.raises(pl.MisconfigurationException, match="single-device Trainer"):
        trainer.tuner.lr_find(BatchSizeModel())
    with pytest.raises(pl.MisconfigurationException, match="single-device Trainer"):
        trainer.tuner.scale_batch_size(BatchSizeModel())
