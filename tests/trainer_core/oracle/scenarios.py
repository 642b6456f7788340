"""User code run under both the real Lightning 1.0.8 and trainer_core; prints one JSON result.

    python scenarios.py pl10|core <workdir> [scenario ...]   (all scenarios by default)

Only the import differs between the two runs. Each scenario returns plain data (hook order,
metric keys, logged series, counters, checkpoint names) for test_oracle_pl10.py to compare.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np

np.Inf = np.inf  # Lightning 1.0 still spells it the NumPy 1 way  # type: ignore[attr-defined]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

if sys.argv[1] == "pl10":
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import LightningLoggerBase
else:
    import trainer_core as pl
    from trainer_core.callbacks import ModelCheckpoint
    from trainer_core.loggers import LightningLoggerBase

# hooks both versions have on the Callback (trainer_core adds a few of its own)
HOOKS_1_0 = [
    "on_init_start", "on_init_end", "setup", "teardown", "on_fit_start", "on_fit_end",
    "on_sanity_check_start", "on_sanity_check_end", "on_train_start", "on_train_end",
    "on_epoch_start", "on_epoch_end", "on_train_epoch_start", "on_train_epoch_end",
    "on_batch_start", "on_batch_end", "on_train_batch_start", "on_train_batch_end",
    "on_validation_start", "on_validation_end", "on_validation_epoch_start", "on_validation_epoch_end",
    "on_validation_batch_start", "on_validation_batch_end", "on_test_start", "on_test_end",
    "on_test_epoch_start", "on_test_epoch_end", "on_test_batch_start", "on_test_batch_end",
    "on_pretrain_routine_start", "on_pretrain_routine_end",
]  # fmt: skip


def _recorder_class() -> type:
    def hook(name: str) -> Any:
        def record(self: Any, *args: Any, **kwargs: Any) -> None:
            self.calls.append(name)

        return record

    return type("Recorder", (pl.Callback,), {name: hook(name) for name in HOOKS_1_0})


class MemoryLogger(LightningLoggerBase):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int | None, list[str]]] = []

    @property
    def name(self) -> str:
        return "memory"

    @property
    def version(self) -> int:
        return 0

    @property
    def experiment(self) -> None:
        return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.rows.append((step, sorted(metrics)))

    def log_hyperparams(self, params: Any) -> None:
        pass


def _loader(n: int, batch_size: int, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=batch_size)


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)
        self.val_scores = [0.5, 0.3, 0.4, 0.2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log("step_only", loss)
        self.log("both", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", torch.tensor(self.val_scores[self.current_epoch % 4]))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _trainer(workdir: str, **flags: Any) -> Any:
    settings: dict[str, Any] = {
        "default_root_dir": workdir,
        "progress_bar_refresh_rate": 0,
        "weights_summary": None,
        "max_epochs": 2,
    }
    settings.update(flags)
    return pl.Trainer(**settings)


def hook_order(workdir: str) -> dict[str, Any]:
    recorder = _recorder_class()()
    recorder.calls = []
    trainer = _trainer(
        workdir,
        logger=False,
        checkpoint_callback=False,
        callbacks=[recorder],
        num_sanity_val_steps=1,
    )
    trainer.fit(Model(), _loader(16, 8, 0), _loader(8, 8, 1))
    return {"calls": recorder.calls}


def logging_layout(workdir: str) -> dict[str, Any]:
    logger = MemoryLogger()
    trainer = _trainer(
        workdir,
        logger=logger,
        checkpoint_callback=False,
        log_every_n_steps=1,
        accumulate_grad_batches=2,
    )
    trainer.fit(Model(), _loader(24, 8, 0), _loader(8, 8, 1))
    logger.save()
    return {
        "rows": logger.rows,
        "callback_metrics": sorted(trainer.callback_metrics),
        "progress_bar_metrics": sorted(trainer.progress_bar_metrics),
        "global_step": trainer.global_step,
        "current_epoch": trainer.current_epoch,
    }


def checkpoint_top_k(workdir: str) -> dict[str, Any]:
    checkpoint = ModelCheckpoint(
        dirpath=os.path.join(workdir, "ckpt"),
        monitor="val_loss",
        save_top_k=2,
        filename="{epoch}-{val_loss:.2f}",
    )
    trainer = _trainer(workdir, logger=False, callbacks=[checkpoint], max_epochs=4)
    trainer.fit(Model(), _loader(16, 8, 0), _loader(8, 8, 1))
    return {
        "files": sorted(os.listdir(os.path.join(workdir, "ckpt"))),
        "best": os.path.basename(checkpoint.best_model_path),
        "best_score": round(float(checkpoint.best_model_score), 6),
    }


def validation_cadence(workdir: str) -> dict[str, Any]:
    steps: list[int] = []

    class Counting(Model):
        def on_validation_epoch_start(self) -> None:
            steps.append(self.global_step)

    trainer = _trainer(
        workdir,
        logger=False,
        checkpoint_callback=False,
        val_check_interval=0.5,
        num_sanity_val_steps=0,
        limit_train_batches=4,
    )
    trainer.fit(Counting(), _loader(48, 8, 0), _loader(8, 8, 1))
    return {"validation_at_steps": steps, "global_step": trainer.global_step}


SCENARIOS = {
    f.__name__: f for f in (hook_order, logging_layout, checkpoint_top_k, validation_cadence)
}

if __name__ == "__main__":
    workdir = sys.argv[2]
    results = {}
    for name in sys.argv[3:] or list(SCENARIOS):
        torch.manual_seed(0)
        results[name] = SCENARIOS[name](os.path.join(workdir, name))
    print("RESULT " + json.dumps(results))
