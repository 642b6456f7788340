"""Handwritten digits (scikit-learn's bundled 8x8 set): a small MLP classifier.

`python -m examples.digits` trains a few epochs on CPU with the progress bar, keeps the best
checkpoint by val_loss, exports the best model to TorchScript and ONNX next to the
checkpoints, and prints the paths and final metrics. Nothing is downloaded.

Runyard entrypoints: `examples.digits:DigitsClassifier` with `examples.digits:DigitsDataModule`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl
from trainer_core.callbacks import ModelCheckpoint

N_PIXELS, N_CLASSES = 64, 10


class DigitsDataModule(pl.LightningDataModule):
    """`sklearn.datasets.load_digits()` split 60/20/20 into train/val/test (fixed seed)."""

    def __init__(self, batch_size: int = 64, seed: int = 0, num_workers: int = 0) -> None:
        super().__init__(dims=(N_PIXELS,))
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.splits: dict[str, TensorDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # pixel values are 0..16
        y = torch.tensor(digits.target, dtype=torch.long)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seed))
        n_train, n_val = int(0.6 * len(x)), int(0.2 * len(x))
        parts = {
            "train": order[:n_train],
            "val": order[n_train : n_train + n_val],
            "test": order[n_train + n_val :],
        }
        self.splits = {name: TensorDataset(x[idx], y[idx]) for name, idx in parts.items()}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if not self.splits:
            self.setup()
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


class DigitsClassifier(pl.LightningModule):
    """MLP 64 -> hidden -> hidden -> 10; logs train_loss, val_loss, val_acc (progress bar)."""

    def __init__(self, hidden_size: int = 128, lr: float = 1e-3, dropout: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(N_PIXELS, hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size),
            nn.ReLU(),
            nn.Linear(hidden_size, N_CLASSES),
        )
        self.val_acc = pl.metrics.Accuracy()
        self.test_acc = pl.metrics.Accuracy()
        self.example_input_array = torch.zeros(1, N_PIXELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.val_acc(logits, y)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", self.val_acc, prog_bar=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.test_acc(logits, y)
        self.log("test_loss", F.cross_entropy(logits, y))
        self.log("test_acc", self.test_acc)

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def export_model(model: DigitsClassifier, directory: str) -> dict[str, str]:
    """Write TorchScript and ONNX files into `directory`; returns their paths."""
    model = model.cpu().eval()
    paths = {
        "torchscript": os.path.join(directory, "model.ts.pt"),
        "onnx": os.path.join(directory, "model.onnx"),
    }
    model.to_torchscript(paths["torchscript"], method="script")
    model.to_onnx(
        paths["onnx"],
        model.example_input_array,
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    return paths


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description="Train the digits classifier with trainer_core, then export it."
    )
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--root-dir", default=".", help="logs and checkpoints go to <root>/lightning_logs/version_N"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress-bar", action="store_true")
    args = parser.parse_args(argv)

    pl.seed_everything(args.seed)
    datamodule = DigitsDataModule(batch_size=args.batch_size, seed=args.seed)
    model = DigitsClassifier(hidden_size=args.hidden_size, lr=args.lr)
    checkpoint = ModelCheckpoint(
        monitor="val_loss", filename="{epoch}-{val_loss:.3f}", save_last=True
    )
    trainer = pl.Trainer(
        max_epochs=args.max_epochs,
        default_root_dir=args.root_dir,
        callbacks=[checkpoint],
        progress_bar_refresh_rate=0 if args.no_progress_bar else 1,
        weights_summary=None,
        log_every_n_steps=5,
    )
    trainer.fit(model, datamodule=datamodule)
    test_results = trainer.test(datamodule=datamodule, verbose=False)  # loads the best checkpoint

    best = DigitsClassifier.load_from_checkpoint(checkpoint.best_model_path)
    exports = export_model(best, os.path.dirname(checkpoint.best_model_path))
    summary = {
        "best_checkpoint": checkpoint.best_model_path,
        "last_checkpoint": checkpoint.last_model_path,
        "exports": exports,
        "best_val_loss": float(checkpoint.best_model_score)
        if checkpoint.best_model_score is not None
        else None,
        "final_val_acc": float(trainer.callback_metrics["val_acc"]),
        "test": test_results[0],
    }
    print(f"best checkpoint : {summary['best_checkpoint']}")
    print(f"last checkpoint : {summary['last_checkpoint']}")
    print(f"TorchScript     : {exports['torchscript']}")
    print(f"ONNX            : {exports['onnx']}")
    print(f"best val_loss   : {summary['best_val_loss']:.4f}")
    print(f"final val_acc   : {summary['final_val_acc']:.4f}")
    print(f"test            : {', '.join(f'{k}={v:.4f}' for k, v in summary['test'].items())}")
    return summary


if __name__ == "__main__":
    main()
