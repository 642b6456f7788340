"""Trainer loop semantics: counters, limits, validation cadence, hook order, datamodules."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.strategies import SingleDeviceStrategy


def _recording_hook(name: str) -> Any:
    def hook(self: Any, *args: Any, **kwargs: Any) -> None:
        self.calls.append(name)

    return hook


_HOOK_NAMES = [n for n in dir(pl.Callback) if n.startswith("on_") or n in ("setup", "teardown")]
# a callback that overrides every hook and records each call
HookRecorder = type(
    "HookRecorder", (pl.Callback,), {name: _recording_hook(name) for name in _HOOK_NAMES}
)


def _recorder() -> Any:
    recorder = HookRecorder()
    recorder.calls = []
    return recorder


def test_callback_hooks_run_in_lightning_order_for_one_epoch(tmp_path: Any) -> None:
    recorder = _recorder()
    trainer = quiet_trainer(
        tmp_path,
        logger=False,
        checkpoint_callback=False,
        callbacks=[recorder],
        num_sanity_val_steps=1,
    )
    trainer.fit(RegressionModel(), loader(n=16, batch_size=8), loader(n=8, batch_size=8))
    calls = [
        c
        for c in recorder.calls
        if c not in ("on_init_start", "on_init_end", "on_checkpoint_saved")
    ]
    batch = [
        "on_batch_start",
        "on_train_batch_start",
        "on_after_backward",
        "on_before_zero_grad",
        "on_batch_end",
        "on_train_batch_end",
    ]
    validation = [
        "on_validation_start",
        "on_validation_epoch_start",
        "on_validation_batch_start",
        "on_validation_batch_end",
        "on_validation_epoch_end",
        "on_validation_end",
    ]
    assert calls == [
        "setup",
        "on_fit_start",
        "on_pretrain_routine_start",
        "on_pretrain_routine_end",
        "on_sanity_check_start",
        *validation,
        "on_sanity_check_end",
        "on_train_start",
        "on_epoch_start",
        "on_train_epoch_start",
        *batch,
        *batch,
        *validation,
        "on_epoch_end",
        "on_train_epoch_end",
        "on_train_end",
        "on_fit_end",
        "teardown",
    ]


_MODULE_HOOKS = [
    name
    for name in dir(pl.LightningModule)
    if name.startswith("on_") and name not in ("on_gpu", "on_save_checkpoint", "on_load_checkpoint")
] + ["on_validation_start", "on_validation_end", "on_test_start", "on_test_end"]


def test_module_hooks_run_in_lightning_1_0_order_and_the_stage_start_end_hooks_are_callbacks_only(
    tmp_path: Any,
) -> None:
    """Lightning 1.0.8's module has no on_validation_start/_end or on_test_start/_end (only
    callbacks do): a module method of one of those names is never called."""
    recording = {name: _recording_hook(name) for name in _MODULE_HOOKS}
    Recorded = type("Recorded", (RegressionModel,), recording)

    def recorded() -> Any:
        module = Recorded()
        module.calls = []
        return module

    model = recorded()
    trainer = quiet_trainer(
        tmp_path, logger=False, checkpoint_callback=False, limit_train_batches=1
    )
    trainer.fit(model, loader(n=16, batch_size=8), loader(n=8, batch_size=8))
    evaluation = [
        "on_validation_model_eval",
        "on_validation_epoch_start",
        "on_validation_batch_start",
        "on_validation_batch_end",
        "on_validation_epoch_end",
        "on_validation_model_train",
    ]
    assert model.calls == [
        "on_fit_start",
        "on_pretrain_routine_start",
        "on_pretrain_routine_end",
        *evaluation,  # the sanity check
        "on_train_start",
        "on_epoch_start",
        "on_train_epoch_start",
        "on_train_batch_start",
        "on_after_backward",
        "on_before_zero_grad",
        "on_train_batch_end",
        *evaluation,
        "on_epoch_end",
        "on_train_epoch_end",
        "on_train_end",
        "on_fit_end",
    ]
    tested = recorded()
    trainer.test(tested, loader(n=8, batch_size=8))
    assert tested.calls == [
        "on_fit_start",
        "on_pretrain_routine_start",
        "on_pretrain_routine_end",
        "on_test_model_eval",
        "on_test_epoch_start",
        "on_test_batch_start",
        "on_test_batch_end",
        "on_test_epoch_end",
        "on_test_model_train",
        "on_fit_end",
    ]


def test_global_step_counts_optimizer_steps_with_accumulation(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=2, accumulate_grad_batches=2)
    trainer.fit(RegressionModel(), loader(n=48, batch_size=16))  # 3 batches: steps after 2 and 3
    assert trainer.global_step == 4
    assert trainer.current_epoch == 1  # the index of the last epoch that ran (1.0)


def test_max_steps_stops_mid_epoch(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=10, max_steps=5)
    trainer.fit(RegressionModel(), loader(n=64, batch_size=16))
    assert trainer.global_step == 5


def test_limit_batches_int_is_a_count_and_float_a_fraction(tmp_path: Any) -> None:
    steps: list[int] = []

    class Counting(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            steps.append(batch_idx)

    trainer = quiet_trainer(
        tmp_path, logger=False, limit_train_batches=0.5, limit_val_batches=1, num_sanity_val_steps=0
    )
    trainer.fit(Counting(), loader(n=64, batch_size=8), loader(n=64, batch_size=8))
    assert trainer.global_step == 4
    assert steps == [0]


def test_float_val_check_interval_validates_several_times_per_epoch(tmp_path: Any) -> None:
    runs: list[int] = []

    class Counting(RegressionModel):
        def on_validation_epoch_start(self) -> None:
            runs.append(self.global_step)

    trainer = quiet_trainer(tmp_path, logger=False, val_check_interval=0.25, num_sanity_val_steps=0)
    trainer.fit(Counting(), loader(n=64, batch_size=8), loader(n=16, batch_size=8))
    assert runs == [1, 3, 5, 7]  # validation sees the step of the batch it follows (1.0)


def test_check_val_every_n_epoch_skips_epochs(tmp_path: Any) -> None:
    epochs: list[int] = []

    class Counting(RegressionModel):
        def on_validation_epoch_start(self) -> None:
            epochs.append(self.current_epoch)

    trainer = quiet_trainer(
        tmp_path, logger=False, max_epochs=4, check_val_every_n_epoch=2, num_sanity_val_steps=0
    )
    trainer.fit(Counting(), loader(n=16), loader(n=16))
    assert epochs == [1, 3]


def test_sanity_check_runs_num_sanity_val_steps_batches_and_logs_nothing(tmp_path: Any) -> None:
    seen: list[tuple[bool, int]] = []

    class Counting(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            seen.append((self.trainer.running_sanity_check, batch_idx))
            super().validation_step(batch, batch_idx)

    trainer = quiet_trainer(tmp_path, logger=False, num_sanity_val_steps=2, limit_train_batches=0)
    trainer.fit(Counting(), loader(), loader())
    assert seen[:2] == [(True, 0), (True, 1)]


def test_fast_dev_run_runs_one_batch_of_each(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, fast_dev_run=True, max_epochs=5)
    trainer.fit(RegressionModel(), loader(), loader())
    assert trainer.global_step == 1
    assert trainer.num_val_batches == [1]


def test_fit_with_a_datamodule_calls_prepare_data_and_setup_once(tmp_path: Any) -> None:
    class Data(pl.LightningDataModule):
        def __init__(self) -> None:
            super().__init__()
            self.prepared = 0
            self.setups: list[str | None] = []

        def prepare_data(self) -> None:
            self.prepared += 1

        def setup(self, stage: str | None = None) -> None:
            self.setups.append(stage)

        def train_dataloader(self) -> Any:
            return loader()

        def val_dataloader(self) -> Any:
            return loader(n=16)

        def test_dataloader(self) -> Any:
            return loader(n=16)

    data = Data()
    data.setup("fit")  # the user may set up by hand first; the trainer then skips it
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(RegressionModel(), datamodule=data)
    results = trainer.test(datamodule=data, ckpt_path=None, verbose=False)
    assert data.prepared == 1
    assert data.setups == ["fit", "test"]
    assert set(results[0]) == {"test_loss"}


def test_test_with_best_checkpoint_loads_its_weights(tmp_path: Any) -> None:
    model = RegressionModel()
    trainer = quiet_trainer(
        tmp_path,
        logger=False,
        max_epochs=2,
        callbacks=[pl.callbacks.ModelCheckpoint(monitor="val_loss")],
    )
    trainer.fit(model, loader(), loader())
    best = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=True)["state_dict"]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    results = trainer.test(test_dataloaders=loader(n=16), verbose=False)
    assert torch.equal(model.state_dict()["net.0.weight"], best["net.0.weight"])
    assert results[0]["test_loss"] >= 0


def test_several_val_loaders_pass_dataloader_idx_and_suffix_metrics(tmp_path: Any) -> None:
    class TwoLoaders(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int) -> None:
            self.log("val_loss", float(dataloader_idx))

    trainer = quiet_trainer(tmp_path, logger=False, num_sanity_val_steps=0)
    trainer.fit(TwoLoaders(), loader(), [loader(n=16), loader(n=16)])
    assert trainer.callback_metrics["val_loss/dataloader_idx_0"] == 0.0
    assert trainer.callback_metrics["val_loss/dataloader_idx_1"] == 1.0


def test_early_stop_waits_for_min_epochs(tmp_path: Any) -> None:
    class Stopper(pl.Callback):
        def on_train_epoch_end(
            self, trainer: pl.Trainer, pl_module: Any, outputs: Any = None
        ) -> None:
            trainer.should_stop = True

    trainer = quiet_trainer(
        tmp_path, logger=False, max_epochs=10, min_epochs=3, callbacks=[Stopper()]
    )
    trainer.fit(RegressionModel(), loader(n=16))
    assert trainer.current_epoch == 2


def test_on_train_batch_start_returning_minus_one_ends_the_epoch(tmp_path: Any) -> None:
    class Short(RegressionModel):
        def on_train_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int) -> Any:
            return -1 if batch_idx == 2 else None

    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=2)
    trainer.fit(Short(), loader(n=64, batch_size=8))
    # two batches trained per epoch; 1.0 also counts the step of the batch that ended it
    # (1.0.8's tests/models/test_hooks.py::test_on_train_batch_start_hook)
    assert trainer.global_step == 6


def test_bf16_precision_runs_on_cpu(tmp_path: Any) -> None:
    seen: list[torch.dtype] = []

    class Probe(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            seen.append(self(batch[0]).dtype)
            return super().training_step(batch, batch_idx)

    trainer = quiet_trainer(tmp_path, logger=False, precision="bf16", limit_train_batches=2)
    trainer.fit(Probe(), loader())
    assert seen == [torch.bfloat16, torch.bfloat16]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", [16, "bf16"])
def test_mixed_precision_trains_on_cuda(tmp_path: Any, precision: Any) -> None:
    model = RegressionModel()
    trainer = quiet_trainer(
        tmp_path, logger=False, gpus=1, precision=precision, max_epochs=2, gradient_clip_val=1.0
    )
    trainer.fit(model, loader(), loader())
    assert model.device.type == "cuda"
    assert torch.isfinite(trainer.callback_metrics["val_loss"])


def test_configure_optimizers_dict_with_step_scheduler_steps_every_optimizer_step(
    tmp_path: Any,
) -> None:
    class Scheduled(RegressionModel):
        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
            }

    trainer = quiet_trainer(tmp_path, logger=False, limit_train_batches=3)
    trainer.fit(Scheduled(), loader())
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.5**3)


def test_reduce_on_plateau_reads_the_monitored_metric(tmp_path: Any) -> None:
    class Plateau(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", 1.0)  # never improves

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, patience=0, factor=0.1
            )
            return {"optimizer": optimizer, "lr_scheduler": scheduler, "monitor": "val_loss"}

    trainer = quiet_trainer(
        tmp_path, logger=False, max_epochs=3, limit_train_batches=1, num_sanity_val_steps=0
    )
    trainer.fit(Plateau(), loader(), loader(n=16))
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.01)


def test_optimizer_frequencies_alternate_optimizers(tmp_path: Any) -> None:
    used: list[int] = []

    class Alternating(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int, optimizer_idx: int) -> torch.Tensor:
            used.append(optimizer_idx)
            return super().training_step(batch, batch_idx)

        def configure_optimizers(self) -> Any:
            return [
                {"optimizer": torch.optim.SGD(self.parameters(), lr=0.1), "frequency": 2},
                {"optimizer": torch.optim.SGD(self.parameters(), lr=0.1), "frequency": 1},
            ]

    quiet_trainer(tmp_path, logger=False, limit_train_batches=4).fit(Alternating(), loader())
    assert used == [0, 0, 1, 0]


def test_automatic_optimization_can_be_switched_off_on_the_module(tmp_path: Any) -> None:
    class Manual(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False

        def training_step(self, batch: Any, batch_idx: int) -> None:
            optimizer = self.optimizers()
            loss = super().training_step(batch, batch_idx)
            self.manual_backward(loss, optimizer)
            optimizer.step()
            optimizer.zero_grad()

    model = Manual()
    before = model.net[0].weight.clone()
    quiet_trainer(tmp_path, logger=False, limit_train_batches=2).fit(model, loader())
    assert not torch.equal(before, model.net[0].weight)


def test_several_optimizers_each_step_only_their_parameters_and_leave_grads_enabled(
    tmp_path: Any,
) -> None:
    class TwoParts(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int, optimizer_idx: int) -> torch.Tensor:
            return super().training_step(batch, batch_idx)

        def configure_optimizers(self) -> Any:
            return [
                torch.optim.SGD(self.net[0].parameters(), lr=0.1),
                torch.optim.SGD(self.net[3].parameters(), lr=0.1),
            ]

    model = TwoParts()
    before = [p.detach().clone() for p in model.parameters()]
    quiet_trainer(tmp_path, logger=False, limit_train_batches=2).fit(model, loader())
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
    assert all(p.requires_grad for p in model.parameters())


def test_sync_dist_values_are_reduced_through_the_strategy(tmp_path: Any) -> None:
    reduced: list[str] = []

    class CountingStrategy(SingleDeviceStrategy):
        def reduce(self, tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
            reduced.append(op)
            return tensor * 2

    class Synced(RegressionModel):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("synced", 1.0, sync_dist=True, sync_dist_op="sum")

    trainer = quiet_trainer(tmp_path, logger=False, num_sanity_val_steps=0)
    trainer.strategy = CountingStrategy("cpu")
    trainer.fit(Synced(), loader(), loader(n=32))
    assert reduced == ["sum", "sum"]
    assert trainer.callback_metrics["synced"].item() == 2.0
