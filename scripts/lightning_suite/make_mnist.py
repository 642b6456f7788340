"""Writes a generated dataset in MNIST's processed file format (what Lightning 1.0.8's
tests/base/datasets.py downloads): `MNIST/complete/{training,test}.pt`, each a tuple
(uint8 images [N, 28, 28], int64 labels [N]).

Each digit class is a fixed random stroke pattern plus per-image noise, so the small models
in the test suite learn it the way they learn MNIST (accuracy thresholds pass), and labels are
interleaved so the first N of each class come early (TrialMNIST takes those).
"""

import os
import sys

import torch


def make(
    n: int, templates: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(0, 10, (n,), generator=generator)
    noise = torch.rand(n, 28, 28, generator=generator) * 90
    images = (templates[labels] * 165 + noise).clamp(0, 255).to(torch.uint8)
    return images, labels.to(torch.int64)


def main(root: str) -> None:
    folder = os.path.join(root, "MNIST", "complete")
    if all(os.path.isfile(os.path.join(folder, f)) for f in ("training.pt", "test.pt")):
        return
    os.makedirs(folder, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    templates = (torch.rand(10, 28, 28, generator=generator) > 0.7).float()
    torch.save(make(60000, templates, generator), os.path.join(folder, "training.pt"))
    torch.save(make(10000, templates, generator), os.path.join(folder, "test.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
