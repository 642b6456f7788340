"""A small GAN on generated 2-D data, written as the Lightning 1.0 announcement's manual
optimization snippet: three optimizers, `self.optimizers()`, `self.manual_backward`.

The generator maps noise to points, the discriminator tells real points (a ring of eight
Gaussians, generated here) from generated ones, and an encoder learns to recover the noise
from a generated point (the third optimizer). `python -m examples.gan` trains it on CPU.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainer_core as pl


def ring_of_gaussians(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    angles = torch.randint(0, modes, (n,), generator=generator).float() * (2 * math.pi / modes)
    centers = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
    return centers + std * torch.randn(n, 2, generator=generator)


class RingDataModule(pl.LightningDataModule):
    """Points sampled once from a ring of Gaussians (no download)."""

    def __init__(self, n_samples: int = 2048, batch_size: int = 128, seed: int = 0) -> None:
        super().__init__(dims=(2,))
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.seed = seed
        self.dataset: TensorDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        self.dataset = TensorDataset(ring_of_gaussians(self.n_samples, seed=self.seed))

    def train_dataloader(self) -> DataLoader:
        if self.dataset is None:
            self.setup()
        assert self.dataset is not None
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True, drop_last=True)


def _mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, n_out),
    )


class RingGAN(pl.LightningModule):
    """Generator, discriminator and encoder, each with its own optimizer (manual optimization)."""

    def __init__(self, latent_dim: int = 4, hidden: int = 64, lr: float = 1e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False  # also set by Trainer(automatic_optimization=False)
        self.generator = _mlp(latent_dim, 2, hidden)
        self.discriminator = _mlp(2, 1, hidden)
        self.encoder = _mlp(2, latent_dim, hidden)
        self.example_input_array = torch.zeros(1, latent_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def configure_optimizers(self) -> Any:
        lr = self.hparams.lr
        return [
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.encoder.parameters(), lr=lr),
        ]

    def training_step(self, batch: Any, batch_idx: int, opt_idx: int) -> None:
        (opt_a, opt_b, opt_c) = self.optimizers()
        real = batch[0]
        z = torch.randn(real.size(0), self.hparams.latent_dim, device=real.device)
        fake = self.generator(z)
        ones = torch.ones(real.size(0), 1, device=real.device)

        # generator: make the discriminator call generated points real
        loss_a = F.binary_cross_entropy_with_logits(self.discriminator(fake), ones)
        self.manual_backward(loss_a, opt_a, retain_graph=True)
        opt_a.step()
        opt_a.zero_grad()

        # discriminator: real points are real, generated ones are not
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        loss_b = F.binary_cross_entropy_with_logits(
            real_logits, ones
        ) + F.binary_cross_entropy_with_logits(fake_logits, 1 - ones)
        opt_b.zero_grad()  # drop what the generator's backward left on the discriminator
        self.manual_backward(loss_b, opt_b)
        opt_b.step()
        opt_b.zero_grad()

        # encoder: recover the noise that made each generated point
        loss_c = F.mse_loss(self.encoder(fake.detach()), z)
        self.manual_backward(loss_c, opt_c)
        opt_c.step()
        opt_c.zero_grad()

        self.log_dict({"g_loss": loss_a, "d_loss": loss_b, "e_loss": loss_c}, prog_bar=True)


def main(argv: Sequence[str] | None = None) -> RingGAN:
    parser = argparse.ArgumentParser(description="Train a small GAN with manual optimization.")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument(
        "--root-dir", default=".", help="logs and checkpoints go to <root>/lightning_logs/version_N"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    pl.seed_everything(args.seed)
    model = RingGAN()
    trainer = pl.Trainer(
        max_epochs=args.max_epochs,
        default_root_dir=args.root_dir,
        automatic_optimization=False,
        weights_summary=None,
    )
    trainer.fit(model, datamodule=RingDataModule(seed=args.seed))
    with torch.no_grad():
        samples = model(torch.randn(512, model.hparams.latent_dim))
    print(f"mean radius of generated points: {samples.norm(dim=1).mean():.3f} (real ring: 2.0)")
    print(f"checkpoint: {trainer.checkpoint_callback.best_model_path}")
    return model


if __name__ == "__main__":
    main()
