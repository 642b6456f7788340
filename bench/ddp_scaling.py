"""Throughput of trainer_core's data-parallel training: 1 vs 2 CPU processes (ddp_cpu), and,
where a CUDA device exists, one GPU under trainer_core against a plain PyTorch loop (bf16).

CPU: the same MLP (64 -> 512 -> 512 -> 10, SGD) trains on synthetic data with a per-process
batch of --batch-size; each process uses one thread, so 2 processes use 2 cores. Samples per
second count every rank's samples, measured between the end of --warmup batches and the end
of training on rank 0 (process start-up excluded; `fit_wall_s` includes it).

GPU: a wider MLP (1024 -> 4096 -> 4096 -> 1024) with batch 256, bf16 autocast in both the
Trainer (precision="bf16", gpus=1) and the plain loop; timings are synchronised with CUDA.

Prints one JSON line per measurement and one per comparison; asserts nothing.

    python bench/ddp_scaling.py [--steps 300] [--batch-size 64] [--gpu-steps 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainer_core


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def synthetic(samples: int, features: int, classes: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(samples, features, generator=generator)
    y = torch.randint(0, classes, (samples,), generator=generator)
    return TensorDataset(x, y)


class ScalingMLP(trainer_core.LightningModule):
    def __init__(self, sizes: list[int], samples: int, batch_size: int) -> None:
        super().__init__()
        self.sizes, self.samples, self.batch_size = sizes, samples, batch_size
        self.net = mlp(sizes)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> DataLoader[Any]:
        data = synthetic(self.samples, self.sizes[0], self.sizes[-1])
        return DataLoader(data, batch_size=self.batch_size, shuffle=True, drop_last=True)


class Throughput(trainer_core.Callback):
    """Rank 0 writes samples/s after `warmup` batches to `path` (JSON) when training ends."""

    def __init__(self, path: str, warmup: int, batch_size: int) -> None:
        self.path, self.warmup, self.batch_size = path, warmup, batch_size
        self.start = 0.0
        self.batches = 0

    def on_train_batch_start(
        self, trainer: Any, module: Any, batch: Any, idx: int, dl: int
    ) -> None:
        torch.set_num_threads(1)  # also inside spawned ranks: one core each
        if idx == self.warmup:
            _sync(module)
            self.start = time.perf_counter()
        self.batches = idx + 1

    def on_train_end(self, trainer: Any, module: Any) -> None:
        _sync(module)
        elapsed = time.perf_counter() - self.start
        measured = self.batches - self.warmup
        if trainer.is_global_zero:
            with open(self.path, "w") as fh:
                json.dump(
                    {
                        "samples_per_s": measured * self.batch_size * trainer.world_size / elapsed,
                        "measured_steps": measured,
                    },
                    fh,
                )


def _sync(module: nn.Module) -> None:
    if next(module.parameters()).is_cuda:
        torch.cuda.synchronize()


def run_cpu(processes: int, steps: int, warmup: int, batch_size: int) -> dict[str, Any]:
    sizes = [64, 512, 512, 10]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "throughput.json")
        model = ScalingMLP(sizes, (steps + warmup) * batch_size * processes, batch_size)
        flags: dict[str, Any] = (
            {"accelerator": "ddp_cpu", "num_processes": processes} if processes > 1 else {}
        )
        trainer = trainer_core.Trainer(
            max_epochs=1,
            logger=False,
            checkpoint_callback=False,
            progress_bar_refresh_rate=0,
            weights_summary=None,
            callbacks=[Throughput(path, warmup, batch_size)],
            **flags,
        )
        began = time.perf_counter()
        trainer.fit(model)
        wall = time.perf_counter() - began
        with open(path) as fh:
            measured = json.load(fh)
    return {
        "bench": "ddp_scaling",
        "device": "cpu",
        "strategy": "ddp_cpu" if processes > 1 else "single",
        "processes": processes,
        "batch_per_process": batch_size,
        "samples_per_s": round(measured["samples_per_s"], 1),
        "measured_steps": measured["measured_steps"],
        "fit_wall_s": round(wall, 2),
    }


def run_gpu_trainer(steps: int, warmup: int, batch_size: int) -> float:
    sizes = [1024, 4096, 4096, 1024]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "throughput.json")
        model = ScalingMLP(sizes, (steps + warmup) * batch_size, batch_size)
        trainer = trainer_core.Trainer(
            gpus=1,
            precision="bf16",
            max_epochs=1,
            logger=False,
            checkpoint_callback=False,
            progress_bar_refresh_rate=0,
            weights_summary=None,
            callbacks=[Throughput(path, warmup, batch_size)],
        )
        trainer.fit(model)
        with open(path) as fh:
            return float(json.load(fh)["samples_per_s"])


def run_gpu_plain(steps: int, warmup: int, batch_size: int) -> float:
    """The same work without a trainer: the loop a user would write by hand."""
    sizes = [1024, 4096, 4096, 1024]
    device = torch.device("cuda")
    net = mlp(sizes).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    data = synthetic((steps + warmup) * batch_size, sizes[0], sizes[-1])
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True)
    start = 0.0
    for idx, (x, y) in enumerate(loader):
        if idx == warmup:
            torch.cuda.synchronize()
            start = time.perf_counter()
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="measured steps per process (CPU)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--gpu-steps", type=int, default=300)
    parser.add_argument("--gpu-batch-size", type=int, default=256)
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    if not args.skip_cpu:
        one = run_cpu(1, args.steps, args.warmup, args.batch_size)
        print(json.dumps(one), flush=True)
        two = run_cpu(2, args.steps, args.warmup, args.batch_size)
        print(json.dumps(two), flush=True)
        print(
            json.dumps(
                {
                    "bench": "ddp_scaling",
                    "comparison": "2 CPU processes vs 1",
                    "speedup": round(two["samples_per_s"] / one["samples_per_s"], 2),
                    "scaling_efficiency": round(two["samples_per_s"] / one["samples_per_s"] / 2, 2),
                    "load_avg_1min": round(os.getloadavg()[0], 2),
                }
            ),
            flush=True,
        )

    if torch.cuda.is_available():
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        name = torch.cuda.get_device_name(0)
        plain = run_gpu_plain(args.gpu_steps, args.warmup, args.gpu_batch_size)
        trainer = run_gpu_trainer(args.gpu_steps, args.warmup, args.gpu_batch_size)
        for label, value in (("plain_loop", plain), ("trainer_core", trainer)):
            print(
                json.dumps(
                    {
                        "bench": "ddp_scaling",
                        "device": name,
                        "runner": label,
                        "precision": "bf16",
                        "batch": args.gpu_batch_size,
                        "samples_per_s": round(value, 1),
                    }
                ),
                flush=True,
            )
        print(
            json.dumps(
                {
                    "bench": "ddp_scaling",
                    "comparison": "trainer_core vs plain loop, one GPU, bf16",
                    "trainer_core_over_plain": round(trainer / plain, 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
