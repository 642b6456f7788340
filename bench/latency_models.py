"""Modules `bench/latency.py` submits: they print wall-clock marks the benchmark reads back
through the API."""

import time

import torch
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl


class MarkedData(pl.LightningDataModule):
    def train_dataloader(self) -> DataLoader:
        x = torch.randn(64, 4)
        return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=1)


class FirstStepMarker(pl.LightningModule):
    """Prints `FIRST_STEP <time>` at its first training step, then `LINE <i> <time>` lines
    (one every `interval` seconds) for the log-latency figure."""

    def __init__(self, lines: int = 0, interval: float = 0.02) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.lines = lines
        self.interval = interval

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        if batch_idx == 0 and self.current_epoch == 0:
            print(f"FIRST_STEP {time.time():.6f}", flush=True)
            for i in range(self.lines):
                print(f"LINE {i} {time.time():.6f}", flush=True)
                time.sleep(self.interval)  # paces the emitted lines (the workload)
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)
