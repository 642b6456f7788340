"""Hyperparameters as Lightning 1.0 keeps them: a subclass's save_hyperparameters() adds to its
parent's, an OmegaConf config stays a config (and comes back as one from a checkpoint), values
a checkpoint cannot hold are dropped with a warning when fit starts, and the first assignment
is what loggers and checkpoints keep."""

import os
from argparse import Namespace
from typing import Any

import pytest
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.core.saving import load_hparams_from_yaml, save_hparams_to_yaml
from trainer_core.loggers import TensorBoardLogger
from trainer_core.utilities import AttributeDict, is_picklable


class Plain(pl.LightningModule):
    def __init__(self, hidden=4):
        super().__init__()
        self.layer = torch.nn.Linear(2, hidden)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        return self(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=4)


class Base(Plain):
    def __init__(self, hidden=4, lr=0.1):
        super().__init__(hidden)
        self.save_hyperparameters()


class Child(Base):
    def __init__(self, *args, extra=7, **kwargs):
        super().__init__(*args, **kwargs)
        self.save_hyperparameters()


class FromConfig(Base):
    def __init__(self, config):
        super().__init__()
        self.save_hyperparameters(config)


class WithLambda(Base):
    def __init__(self, fn=lambda x: x + 1, **kwargs):
        super().__init__(**kwargs)
        self.save_hyperparameters()


def _fit(model, tmp_path, **flags):
    trainer = pl.Trainer(default_root_dir=tmp_path, max_epochs=1, **flags)
    trainer.fit(model)
    return trainer


def test_a_subclass_adds_its_arguments_to_those_its_parent_saved():
    model = Child(hidden=3)
    assert dict(model.hparams) == {"hidden": 3, "lr": 0.1, "extra": 7}


def test_an_omegaconf_config_stays_a_config_and_loads_back_as_one(tmp_path):
    model = FromConfig(OmegaConf.create({"lr": 0.5, "nested": {"depth": 2}}))
    assert isinstance(model.hparams, DictConfig)
    trainer = _fit(model, tmp_path)
    path = trainer.checkpoint_callback.best_model_path
    loaded = FromConfig.load_from_checkpoint(path)
    assert isinstance(loaded.hparams, DictConfig)
    assert loaded.hparams.nested.depth == 2
    assert torch.load(path, weights_only=True)["hyper_parameters"]["nested"] == {"depth": 2}


def test_values_a_checkpoint_cannot_hold_are_dropped_with_a_warning_when_fit_starts(tmp_path):
    model = WithLambda()
    assert not is_picklable(model.hparams.fn)
    with pytest.warns(UserWarning, match="attribute 'fn' removed from hparams because it cannot"):
        _fit(model, tmp_path)
    assert "fn" not in model.hparams


def test_the_first_assignment_is_what_the_logger_and_checkpoint_keep(tmp_path):
    class Assigned(Plain):
        def __init__(self, **kwargs):
            super().__init__()
            self.hparams = kwargs

    model = Assigned(running=123)
    model.hparams.running = -1
    model.hparams = Namespace(abc=42)
    assert model.hparams.abc == 42 and model.hparams.running == -1
    trainer = _fit(model, tmp_path)
    logger = trainer.logger
    assert isinstance(logger, TensorBoardLogger)
    saved = load_hparams_from_yaml(os.path.join(logger.log_dir, logger.NAME_HPARAMS_FILE))
    assert saved["running"] == 123 and "abc" not in saved


@pytest.mark.parametrize(
    "wrap", [dict, lambda d: Namespace(**d), AttributeDict, OmegaConf.create], ids=str
)
def test_hparams_files_keep_nested_values_whatever_held_them(tmp_path, wrap):
    hparams = {"batch_size": 32, "nested": {"any_num": 123, "name": "abcd"}}
    path = str(tmp_path / "hparams.yaml")
    save_hparams_to_yaml(path, wrap(hparams))
    assert load_hparams_from_yaml(path) == hparams


def test_a_checkpoint_keeps_the_hyperparameters_as_they_are_when_it_is_written(
    tmp_path: Any,
) -> None:
    """1.0 writes `self.hparams` as it is (loggers keep the first ones); 1.0.8's test_args
    loads a model whose subclass reassigned them."""

    class Reassigned(RegressionModel):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__()  # saves hidden/lr/dropout
            self._hparams = None
            self.hparams = {"lr": 0.01, **kwargs}

    model = Reassigned(note="mine")
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=1)
    trainer.fit(model, loader(n=32))
    path = tmp_path / "reassigned.ckpt"
    trainer.save_checkpoint(str(path))
    saved = torch.load(path, weights_only=True)["hyper_parameters"]
    assert saved == {"lr": 0.01, "note": "mine"}
