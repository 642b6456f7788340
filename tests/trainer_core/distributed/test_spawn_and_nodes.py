"""`ddp_cpu` (spawned ranks) returns trained weights to the caller, and a multi-node run
started the way Runyard's worker starts it (one OS process per node) trains the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import trainer_core as pl
from tests.trainer_core.distributed.conftest import (
    RUN_TIMEOUT_S,
    assert_same_weights,
    start_script,
)
from tests.trainer_core.distributed.tiny import TinyClassifier, quiet_trainer
from trainer_core.strategies import DistributedRunError
from trainer_core.strategies.environment import find_free_port

pytestmark = pytest.mark.slow


class RaisesInTraining(TinyClassifier):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.trainer.global_rank == 1:
            raise RuntimeError("spawned rank 1 failed on purpose")
        return super().training_step(batch, batch_idx)


class ManualOptimization(TinyClassifier):
    """Backward runs inside training_step, where DDP's reducer cannot follow it."""

    def __init__(self, batch_size: int = 8) -> None:
        super().__init__(batch_size=batch_size)
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> None:
        optimizer = self.optimizers()
        x, y = batch
        self.manual_backward(torch.nn.functional.cross_entropy(self(x), y), optimizer)
        optimizer.step()
        optimizer.zero_grad()


class DisagreeingRanks(TinyClassifier):
    """Logs a monitored value without sync_dist that improves on rank 0 and worsens on rank 1,
    so the ranks' ModelCheckpoint decisions differ (the seed's snippet can do this under DDP)."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        epoch = float(self.current_epoch)
        self.log("val_loss", -epoch if self.trainer.global_rank == 0 else epoch)


@pytest.fixture(scope="module")
def ddp_cpu_weights() -> dict[str, torch.Tensor]:
    pl.seed_everything(1234)
    model = TinyClassifier(batch_size=4)
    trainer = quiet_trainer(accelerator="ddp_cpu", num_processes=2, max_epochs=2)
    trainer.fit(model)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_ddp_cpu_returns_the_trained_weights_to_the_calling_process(
    ddp_cpu_weights: dict[str, torch.Tensor], reference: dict[str, Any]
) -> None:
    assert_same_weights(ddp_cpu_weights, reference["state_dict"], atol=1e-5)


def test_ddp_cpu_rank_error_is_raised_in_the_caller_with_its_traceback() -> None:
    trainer = quiet_trainer(accelerator="ddp_cpu", num_processes=2, max_epochs=1)
    with pytest.raises(DistributedRunError, match="Rank 1") as info:
        trainer.fit(RaisesInTraining(batch_size=4))
    assert "spawned rank 1 failed on purpose" in str(info.value)


def test_manual_optimization_averages_gradients_across_ranks() -> None:
    pl.seed_everything(1234)
    spawned = ManualOptimization(batch_size=4)
    quiet_trainer(accelerator="ddp_cpu", num_processes=2, max_epochs=1).fit(spawned)
    pl.seed_everything(1234)
    single = ManualOptimization(batch_size=8)
    quiet_trainer(max_epochs=1).fit(single)
    assert_same_weights(spawned.state_dict(), single.state_dict(), atol=1e-5)


def test_ranks_that_disagree_about_checkpoints_and_stopping_neither_hang_nor_diverge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINER_CORE_COLLECTIVE_TIMEOUT_S", "30")  # a hang fails, not stalls
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), monitor="val_loss")
    # rank 1's value worsens after epoch 0, so rank 1 alone would stop after epoch 1
    stopping = pl.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    trainer = quiet_trainer(
        accelerator="ddp_cpu",
        num_processes=2,
        max_epochs=4,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[stopping, checkpoint],
        checkpoint_callback=True,
    )
    trainer.fit(DisagreeingRanks(batch_size=4))
    assert trainer.current_epoch == 1  # every rank stopped together
    assert checkpoint.best_model_path == str(tmp_path / "epoch=1.ckpt")  # rank 0's choice
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch=1.ckpt"]


def test_two_nodes_started_like_the_worker_train_like_ddp_cpu(
    tmp_path: Path, ddp_cpu_weights: dict[str, torch.Tensor]
) -> None:
    rendezvous = {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(find_free_port()),
        "WORLD_SIZE": "2",
    }
    flags = ("--accelerator", "ddp", "--num-nodes", "2", "--num-processes", "1")
    nodes = [
        start_script(tmp_path, *flags, env={**rendezvous, "NODE_RANK": str(rank)})
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=RUN_TIMEOUT_S)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    result = torch.load(tmp_path / "result.pt", weights_only=True)
    assert result["world_size"] == 2
    assert_same_weights(result["state_dict"], ddp_cpu_weights, atol=1e-5)
