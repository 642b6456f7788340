"""The examples train briefly and produce what they promise (checkpoints, exports)."""

from __future__ import annotations

import os
from typing import Any

import onnxruntime
import pytest
import torch

import trainer_core as pl
from examples.digits import DigitsClassifier, DigitsDataModule
from examples.digits import main as digits_main
from examples.gan import RingDataModule, RingGAN


@pytest.mark.slow
def test_digits_example_trains_checkpoints_and_exports_matching_models(tmp_path: Any) -> None:
    summary = digits_main(["--max-epochs", "2", "--root-dir", str(tmp_path), "--no-progress-bar"])
    assert os.path.exists(summary["best_checkpoint"]) and os.path.exists(summary["last_checkpoint"])
    assert summary["final_val_acc"] > 0.5  # two epochs already beat chance (0.1) by far
    model = DigitsClassifier.load_from_checkpoint(summary["best_checkpoint"]).eval()
    sample = torch.rand(3, 64)
    expected = model(sample).detach()
    torch.testing.assert_close(torch.jit.load(summary["exports"]["torchscript"])(sample), expected)
    session = onnxruntime.InferenceSession(
        summary["exports"]["onnx"], providers=["CPUExecutionProvider"]
    )
    (onnx_out,) = session.run(None, {"input": sample.numpy()})
    torch.testing.assert_close(torch.from_numpy(onnx_out), expected, rtol=1e-5, atol=1e-5)


def test_digits_datamodule_splits_the_bundled_dataset() -> None:
    data = DigitsDataModule(batch_size=32)
    data.setup()
    sizes = {name: len(split) for name, split in data.splits.items()}
    assert sizes == {"train": 1078, "val": 359, "test": 360}
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (32, 64) and float(x.max()) <= 1.0 and y.dtype == torch.long


def test_digits_classifier_fast_dev_run(tmp_path: Any) -> None:
    trainer = pl.Trainer(
        fast_dev_run=True,
        default_root_dir=str(tmp_path),
        progress_bar_refresh_rate=0,
        weights_summary=None,
    )
    trainer.fit(DigitsClassifier(hidden_size=16), datamodule=DigitsDataModule())
    assert {"train_loss", "val_loss", "val_acc"} <= set(trainer.callback_metrics)


def test_gan_example_steps_all_three_optimizers_by_hand(tmp_path: Any) -> None:
    model = RingGAN(hidden=16)
    before = [
        p.detach().clone()
        for p in (model.generator[0].weight, model.discriminator[0].weight, model.encoder[0].weight)
    ]
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=3,
        automatic_optimization=False,
        default_root_dir=str(tmp_path),
        progress_bar_refresh_rate=0,
        weights_summary=None,
    )
    trainer.fit(model, datamodule=RingDataModule(n_samples=512))
    after = (model.generator[0].weight, model.discriminator[0].weight, model.encoder[0].weight)
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    assert {"g_loss", "d_loss", "e_loss"} <= set(trainer.progress_bar_metrics)
    assert trainer.global_step == 3
