"""The tiny classifier and data every distributed test trains (importable, so spawned ranks
can unpickle it)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl
from trainer_core.metrics import Accuracy

FEATURES, CLASSES = 8, 3
TRAIN_SAMPLES, VAL_SAMPLES = 64, 32


def dataset(samples: int, seed: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, FEATURES, generator=generator)
    y = torch.randint(0, CLASSES, (samples,), generator=generator)
    return TensorDataset(x, y)


class TinyClassifier(pl.LightningModule):
    """Linear classifier that logs a synced loss and an Accuracy metric object."""

    def __init__(self, batch_size: int = 8, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(FEATURES, CLASSES)
        self.val_acc = Accuracy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y), sync_dist=True)
        self.val_acc(logits.softmax(dim=-1), y)
        self.log("val_acc", self.val_acc)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader(dataset(TRAIN_SAMPLES, 0), batch_size=self.hparams.batch_size)

    def val_dataloader(self) -> DataLoader[Any]:
        return DataLoader(dataset(VAL_SAMPLES, 1), batch_size=self.hparams.batch_size)


def quiet_trainer(**flags: Any) -> pl.Trainer:
    """A Trainer without progress bar or summary; the tests decide logger and checkpoints."""
    flags.setdefault("logger", False)
    flags.setdefault("checkpoint_callback", False)
    return pl.Trainer(
        progress_bar_refresh_rate=0, weights_summary=None, num_sanity_val_steps=0, **flags
    )
