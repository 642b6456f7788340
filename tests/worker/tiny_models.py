"""Small trainer_core modules the run-child tests train (generated data, a few seconds on CPU).

Imported by the child process through its entrypoint, e.g. `tests.worker.tiny_models:TinyClassifier`.
"""

import torch
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl


class TinyData(pl.LightningDataModule):
    def __init__(self, samples: int = 64, batch_size: int = 16) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(samples, 8, generator=generator)
        self.y = (self.x.sum(dim=1) > 0).long()
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.x, self.y), batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.x, self.y), batch_size=self.batch_size)


class TinyClassifier(pl.LightningModule):
    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("val_loss", loss)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class CrashingClassifier(TinyClassifier):
    def training_step(self, batch, batch_idx):
        raise RuntimeError("loss exploded at batch 0")


class SegfaultingClassifier(TinyClassifier):
    def training_step(self, batch, batch_idx):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)


class SlowClassifier(TinyClassifier):
    """Takes a while per step (the workload of cancel tests, not synchronisation)."""

    def training_step(self, batch, batch_idx):
        import time

        print(f"slow step {batch_idx}", flush=True)
        time.sleep(0.2)
        return super().training_step(batch, batch_idx)


class EnvReporter(TinyClassifier):
    """Prints what the process sees, for the isolation tests."""

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__(lr)
        import json
        import os

        print("ENV " + json.dumps({"cwd": os.getcwd(), "env": dict(os.environ)}), flush=True)
        print(f"RAND {torch.rand(1).item()}", flush=True)
