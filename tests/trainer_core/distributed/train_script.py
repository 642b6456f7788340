"""A user-style training script that the distributed tests start as OS processes.

`python -m tests.trainer_core.distributed.train_script --out DIR [flags]` trains
`TinyClassifier` and, on global rank 0, writes DIR/result.pt (weights and callback metrics).
Fault flags make one rank raise or publish its pid so a test can kill it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch

import trainer_core as pl
from tests.trainer_core.distributed.tiny import TinyClassifier, quiet_trainer
from trainer_core.callbacks import ModelCheckpoint


class Faults(pl.Callback):
    """Raise on one rank at one batch, or write each rank's pid file and keep training."""

    def __init__(self, raise_on_rank: int | None, pid_dir: str | None) -> None:
        self.raise_on_rank = raise_on_rank
        self.pid_dir = pid_dir

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        if trainer.current_epoch != 0 or batch_idx != 2:
            return
        if self.raise_on_rank == trainer.global_rank:
            raise ValueError(f"boom on rank {trainer.global_rank}")
        if self.pid_dir is not None:
            path = os.path.join(self.pid_dir, f"rank_{trainer.global_rank}.pid")
            with open(f"{path}.tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.replace(f"{path}.tmp", path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--accelerator", default="ddp")
    parser.add_argument("--num-processes", type=int, default=2)
    parser.add_argument("--num-nodes", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--checkpoints", action="store_true")
    parser.add_argument("--raise-on-rank", type=int, default=None)
    parser.add_argument("--pid-dir", default=None)
    args = parser.parse_args()

    torch.set_num_threads(1)  # two ranks share two cores
    pl.seed_everything(1234)
    model = TinyClassifier(batch_size=args.batch_size)
    callbacks: list[pl.Callback] = [Faults(args.raise_on_rank, args.pid_dir)]
    if args.checkpoints:
        callbacks.append(ModelCheckpoint(dirpath=os.path.join(args.out, "ckpt"), save_top_k=-1))
    trainer = quiet_trainer(
        accelerator=args.accelerator,
        num_processes=args.num_processes,
        num_nodes=args.num_nodes,
        max_epochs=args.max_epochs,
        default_root_dir=args.out,
        logger=args.checkpoints,
        checkpoint_callback=args.checkpoints,
        callbacks=callbacks,
        resume_from_checkpoint=args.resume,
    )
    trainer.fit(model)
    if trainer.is_global_zero:
        result = {
            "state_dict": model.state_dict(),
            "callback_metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
            "world_size": trainer.world_size,
        }
        torch.save(result, os.path.join(args.out, "result.pt"))


if __name__ == "__main__":
    main()
