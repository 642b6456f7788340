"""`ddp` on 2 CPU processes (gloo) trains like one process on the same global batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainer_core.distributed.conftest import (
    assert_same_weights,
    run_script,
    train_single_process,
)

pytestmark = pytest.mark.slow


def test_two_ddp_processes_reach_the_single_process_weights(
    ddp_run: dict[str, Any], reference: dict[str, Any]
) -> None:
    assert ddp_run["world_size"] == 2
    assert_same_weights(ddp_run["state_dict"], reference["state_dict"], atol=1e-5)


def test_metric_object_synced_over_two_ranks_equals_single_process_value(
    ddp_run: dict[str, Any], reference: dict[str, Any]
) -> None:
    # val_acc is a trainer_core.metrics.Accuracy logged with self.log; each rank saw half the data
    assert ddp_run["callback_metrics"]["val_acc"] == pytest.approx(
        reference["callback_metrics"]["val_acc"], abs=1e-6
    )


def test_sync_dist_logged_values_equal_single_process_values(
    ddp_run: dict[str, Any], reference: dict[str, Any]
) -> None:
    for key in ("val_loss", "train_loss"):
        assert ddp_run["callback_metrics"][key] == pytest.approx(
            reference["callback_metrics"][key], abs=1e-6
        ), key


def test_logs_and_checkpoints_are_written_once_by_rank_zero(ddp_run: dict[str, Any]) -> None:
    out: Path = ddp_run["out"]
    assert sorted(p.name for p in (out / "lightning_logs").iterdir()) == ["version_0"]
    assert sorted(p.name for p in (out / "ckpt").iterdir()) == ["epoch=0.ckpt", "epoch=1.ckpt"]


def test_checkpoint_saved_by_two_processes_resumes_on_one(
    ddp_run: dict[str, Any], reference: dict[str, Any]
) -> None:
    checkpoint = ddp_run["out"] / "ckpt" / "epoch=0.ckpt"
    model, _ = train_single_process(2, resume=str(checkpoint))
    assert_same_weights(model.state_dict(), reference["state_dict"], atol=1e-5)


def test_checkpoint_saved_by_one_process_resumes_on_two(
    reference: dict[str, Any], tmp_path: Path
) -> None:
    checkpoint = reference["ckpt_dir"] / "epoch=0.ckpt"
    result = run_script(tmp_path, "--resume", str(checkpoint))
    assert_same_weights(result["state_dict"], reference["state_dict"], atol=1e-5)


def test_checkpoints_hold_plain_unwrapped_weights(ddp_run: dict[str, Any]) -> None:
    checkpoint = torch.load(ddp_run["out"] / "ckpt" / "epoch=1.ckpt", weights_only=True)
    assert sorted(checkpoint["state_dict"]) == ["layer.bias", "layer.weight"]
