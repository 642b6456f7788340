"""LightningModule API outside the loops: hyperparameters, loading, seeding, summaries."""

from __future__ import annotations

import argparse
import random
from typing import Any

import numpy as np
import torch
from torch import nn

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


def test_save_hyperparameters_collects_init_arguments() -> None:
    model = RegressionModel(hidden=3, lr=0.2)
    assert model.hparams == {"hidden": 3, "lr": 0.2, "dropout": 0.0}
    assert model.hparams.lr == 0.2


def test_save_hyperparameters_with_names_keeps_a_subset_and_ignore_drops() -> None:
    class Partial(pl.LightningModule):
        def __init__(self, a: int, b: int, c: int = 3) -> None:
            super().__init__()
            self.save_hyperparameters("a", "c")

    class Ignoring(pl.LightningModule):
        def __init__(self, a: int, backbone: Any = None) -> None:
            super().__init__()
            self.save_hyperparameters(ignore="backbone")

    assert Partial(1, 2).hparams == {"a": 1, "c": 3}
    assert Ignoring(1, nn.Linear(1, 1)).hparams == {"a": 1}


def test_hparams_from_a_namespace_round_trip_through_a_checkpoint(tmp_path: Any) -> None:
    class FromNamespace(RegressionModel):
        def __init__(self, conf: Any) -> None:
            pl.LightningModule.__init__(self)
            self.save_hyperparameters(conf)
            # loading passes the saved dict back as `conf`; hparams reads both the same way
            self.net = nn.Sequential(
                nn.Linear(4, self.hparams.hidden), nn.Linear(self.hparams.hidden, 1)
            )

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    model = FromNamespace(argparse.Namespace(hidden=6))
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(model, loader())
    loaded = FromNamespace.load_from_checkpoint(trainer.checkpoint_callback.best_model_path)
    assert loaded.hparams.hidden == 6
    torch.testing.assert_close(loaded.net[0].weight, model.net[0].weight)


def test_load_from_checkpoint_kwargs_override_saved_hparams(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(RegressionModel(lr=0.1), loader())
    loaded = RegressionModel.load_from_checkpoint(
        trainer.checkpoint_callback.best_model_path, lr=0.5
    )
    assert loaded.hparams.lr == 0.5 and loaded.hparams.hidden == 8


def test_seed_everything_makes_python_numpy_and_torch_repeat() -> None:
    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), torch.rand(1).item()

    assert pl.seed_everything(42) == 42
    first = draw()
    pl.seed_everything(42)
    assert draw() == first


def test_summary_lists_top_level_layers_and_parameter_count() -> None:
    summary = RegressionModel(hidden=8).summarize("top")  # a ModelSummary, as in Lightning 1.0
    assert summary.layer_names == ["net"] and summary.layer_types == ["Sequential"]
    table = str(summary)
    assert "net" in table and "Sequential" in table and "49 Total params" in table


def test_module_properties_without_a_trainer_are_harmless() -> None:
    model = RegressionModel()
    model.log("ignored", 1.0)  # nowhere to log outside a loop; dropped as in Lightning 1.0
    assert (model.current_epoch, model.global_step, model.device.type) == (0, 0, "cpu")
