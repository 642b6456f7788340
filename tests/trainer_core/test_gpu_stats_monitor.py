"""GPUStatsMonitor (Lightning 1.0): refuses a machine without the NVIDIA driver, and names
nvidia-smi's columns per GPU as 1.0 does."""

from __future__ import annotations

import shutil

import pytest

import trainer_core as pl
from trainer_core.callbacks import GPUStatsMonitor


def test_without_nvidia_smi_it_says_the_driver_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pl.MisconfigurationException, match="NVIDIA driver is not installed"):
        GPUStatsMonitor()


def test_stats_are_named_per_gpu_and_column() -> None:
    logs = GPUStatsMonitor._parse_gpu_stats(
        "1,2", [[3, 4, 5], [6, 7]], [("gpu", "a"), ("memory", "b")]
    )
    assert logs == {
        "gpu_id: 1/gpu (a)": 3,
        "gpu_id: 1/memory (b)": 4,
        "gpu_id: 2/gpu (a)": 6,
        "gpu_id: 2/memory (b)": 7,
    }


def test_on_a_cpu_trainer_it_refuses_to_start(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monitor = GPUStatsMonitor()
    trainer = pl.Trainer(default_root_dir=str(tmp_path), progress_bar_refresh_rate=0)
    with pytest.raises(pl.MisconfigurationException, match="not running on GPU"):
        monitor.on_train_start(trainer, None)
