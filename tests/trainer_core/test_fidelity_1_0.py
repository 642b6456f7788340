"""Lightning 1.0 behaviours found by running 1.0.8's own test suite (scripts/lightning_suite.sh)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, quiet_trainer


class Scheduled(RegressionModel):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)]

    def train_dataloader(self) -> Any:
        from tests.trainer_core.models import loader

        return loader()


class Validated(Scheduled):
    def val_dataloader(self) -> Any:
        from tests.trainer_core.models import loader

        return loader()


def test_lr_schedulers_can_be_indexed_like_1_0_dicts(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(Scheduled())
    config = trainer.lr_schedulers[0]
    assert isinstance(config["scheduler"], torch.optim.lr_scheduler.StepLR)
    assert config["interval"] == "epoch" and config["frequency"] == 1
    assert "monitor" in config and config.get("nothing", 5) == 5


def test_progress_bar_reports_its_totals_and_state(tmp_path: Any) -> None:
    bar = pl.callbacks.ProgressBar()
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[bar], limit_val_batches=2)
    model = Scheduled()
    model.val_dataloader = lambda: __import__(
        "tests.trainer_core.models"
    ).trainer_core.models.loader()  # type: ignore[method-assign]
    trainer.fit(model)
    assert bar.total_train_batches == 4
    assert bar.total_val_batches == 2
    assert bar.is_enabled and not bar.is_disabled
    bar.disable()
    assert bar.is_disabled


def test_trainer_flags_come_from_the_command_line() -> None:
    parser = pl.Trainer.add_argparse_args(ArgumentParser())
    args = parser.parse_args(
        ["--max_epochs", "3", "--fast_dev_run", "--gpus", "0", "--limit_train_batches", "0.5"]
    )
    assert args.max_epochs == 3 and args.fast_dev_run is True
    assert args.limit_train_batches == 0.5
    trainer = pl.Trainer.from_argparse_args(args, logger=False, checkpoint_callback=False)
    assert trainer.max_epochs == 1  # fast_dev_run wins
    assert trainer.fast_dev_run
    names = [name for name, _, _ in pl.Trainer.get_init_arguments_and_types()]
    assert "max_epochs" in names and "self" not in names
