"""Differential test: the same LightningModule code under trainer_core and under the real
pytorch-lightning 2.x, on CPU, from the same weights and data order, must give the same
per-step losses, epoch-logged values and final weights (to 1e-6).

Only behaviour that Lightning 1.0 and 2.x share is used: `self.log` with equal-sized batches,
no *_epoch_end methods, no manual optimization, flags common to both versions.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import trainer_core
from tests.trainer_core.models import regression_data

pl2 = pytest.importorskip("pytorch_lightning")
if int(pl2.__version__.split(".")[0]) < 2:
    pytest.skip("needs pytorch-lightning 2.x", allow_module_level=True)

N_SAMPLES, BATCH = 80, 8  # 10 equal batches: accumulation by 4 leaves a partial window at epoch end


def make_module_class(pl: Any, optimizer_kind: str) -> type:
    """The same user code, written once against whichever `pl` is passed."""

    class Net(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer1 = nn.Linear(4, 16)
            self.layer2 = nn.Linear(16, 1)
            self.step_losses: list[float] = []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer2(torch.tanh(self.layer1(x)))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = nn.functional.mse_loss(self(x), y)
            self.step_losses.append(loss.item())
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", nn.functional.mse_loss(self(x), y))

        def configure_optimizers(self) -> Any:
            if optimizer_kind == "sgd":
                return torch.optim.SGD(self.parameters(), lr=0.05)
            if optimizer_kind == "sgd_fast":  # large steps so gradient clipping really clips
                return torch.optim.SGD(self.parameters(), lr=0.3)
            optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
            return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]

    return Net


class _Recording:
    """Keeps every logged series in memory; mixed into each framework's logger base."""

    def _record(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            if key != "epoch":
                self.series.setdefault(key, []).append(float(value))


class CoreMemoryLogger(trainer_core.loggers.LightningLoggerBase, _Recording):
    def __init__(self) -> None:
        super().__init__()
        self.series: dict[str, list[float]] = {}

    name = "memory"
    version = 0
    experiment = None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._record(metrics)

    def log_hyperparams(self, params: Any) -> None:
        pass


def _pl2_memory_logger() -> Any:
    from pytorch_lightning.loggers.logger import Logger

    class PL2MemoryLogger(Logger, _Recording):
        def __init__(self) -> None:
            super().__init__()
            self.series: dict[str, list[float]] = {}

        @property
        def name(self) -> str:
            return "memory"

        @property
        def version(self) -> int:
            return 0

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            self._record(metrics)

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

    return PL2MemoryLogger()


def _loaders() -> tuple[DataLoader, DataLoader]:
    train = DataLoader(regression_data(N_SAMPLES, seed=1), batch_size=BATCH, shuffle=False)
    val = DataLoader(regression_data(32, seed=2), batch_size=BATCH, shuffle=False)
    return train, val


def _run_trainer_core(
    optimizer_kind: str, initial: dict[str, torch.Tensor], flags: dict[str, Any]
) -> tuple[Any, Any]:
    model = make_module_class(trainer_core, optimizer_kind)()
    model.load_state_dict(initial)
    logger = CoreMemoryLogger()
    trainer = trainer_core.Trainer(
        logger=logger,
        checkpoint_callback=False,
        progress_bar_refresh_rate=0,
        weights_summary=None,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        deterministic=True,
        **flags,
    )
    trainer.fit(model, *_loaders())
    return model, logger


def _run_pl2(
    optimizer_kind: str, initial: dict[str, torch.Tensor], flags: dict[str, Any]
) -> tuple[Any, Any]:
    model = make_module_class(pl2, optimizer_kind)()
    model.load_state_dict(initial)
    logger = _pl2_memory_logger()
    trainer = pl2.Trainer(
        accelerator="cpu",
        devices=1,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        deterministic=True,
        **flags,
    )
    trainer.fit(model, *_loaders())
    return model, logger


CASES = {
    "plain_sgd": ("sgd", {"max_epochs": 3}),
    "adam_with_steplr": ("adam", {"max_epochs": 3}),
    "accumulate_grad_batches_4": ("sgd", {"max_epochs": 2, "accumulate_grad_batches": 4}),
    "gradient_clip_val": ("sgd_fast", {"max_epochs": 2, "gradient_clip_val": 0.05}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_trainer_core_matches_pytorch_lightning_2(case: str) -> None:
    optimizer_kind, flags = CASES[case]
    initial = make_module_class(trainer_core, optimizer_kind)().state_dict()

    core_model, core_logger = _run_trainer_core(optimizer_kind, initial, flags)
    pl2_model, pl2_logger = _run_pl2(optimizer_kind, initial, flags)

    assert (
        len(core_model.step_losses)
        == len(pl2_model.step_losses)
        == flags["max_epochs"] * N_SAMPLES // BATCH
    )
    torch.testing.assert_close(
        torch.tensor(core_model.step_losses), torch.tensor(pl2_model.step_losses), atol=1e-6, rtol=0
    )
    keys = ["train_loss_epoch", "val_loss"]
    if "accumulate_grad_batches" not in flags:
        # Under accumulation 1.0 sends every batch of a window at the same step and the logger
        # averages them; 2.x logs only the stepping batch. Step series differ by design there.
        keys.append("train_loss_step")
    for key in keys:
        assert len(core_logger.series[key]) == len(pl2_logger.series[key]), key
        torch.testing.assert_close(
            torch.tensor(core_logger.series[key]),
            torch.tensor(pl2_logger.series[key]),
            atol=1e-6,
            rtol=0,
            msg=key,
        )
    for (name, core_param), (_, pl2_param) in zip(
        core_model.state_dict().items(), pl2_model.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(core_param, pl2_param, atol=1e-6, rtol=0, msg=name)


def test_gradient_clipping_case_really_clips() -> None:
    """Guards the clip case above: without clipping the result must differ."""
    initial = make_module_class(trainer_core, "sgd_fast")().state_dict()
    clipped, _ = _run_trainer_core(
        "sgd_fast", initial, {"max_epochs": 1, "gradient_clip_val": 0.05}
    )
    free, _ = _run_trainer_core("sgd_fast", initial, {"max_epochs": 1})
    assert not torch.allclose(clipped.layer1.weight, free.layer1.weight)
