"""`GPUStatsMonitor` (Lightning 1.0): GPU utilisation, memory, fan and temperature from
`nvidia-smi`, sent to the trainer's logger around training batches every `log_every_n_steps`.

Metric names follow 1.0: `gpu_id: 0/memory.used (MB)`, `batch_time/intra_step (ms)`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any

from trainer_core.callbacks.base import Callback
from trainer_core.exceptions import MisconfigurationException
from trainer_core.utilities.distributed import rank_zero_only

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class GPUStatsMonitor(Callback):
    def __init__(
        self,
        memory_utilization: bool = True,
        gpu_utilization: bool = True,
        intra_step_time: bool = False,
        inter_step_time: bool = False,
        fan_speed: bool = False,
        temperature: bool = False,
    ) -> None:
        super().__init__()
        if shutil.which("nvidia-smi") is None:
            raise MisconfigurationException(
                "Cannot use GPUStatsMonitor callback because NVIDIA driver is not installed "
                "(no nvidia-smi on PATH)."
            )
        self.memory_utilization = memory_utilization
        self.gpu_utilization = gpu_utilization
        self.intra_step_time = intra_step_time
        self.inter_step_time = inter_step_time
        self.fan_speed = fan_speed
        self.temperature = temperature
        self.gpu_ids = ""
        self.batch_started_at: float | None = None
        self.batch_ended_at: float | None = None

    def on_train_start(self, trainer: Trainer, *args: Any, **kwargs: Any) -> None:
        if not trainer.logger:
            raise MisconfigurationException(
                "Cannot use GPUStatsMonitor callback with Trainer that has no logger."
            )
        if not trainer.on_gpu:
            raise MisconfigurationException(
                "You are using GPUStatsMonitor but are not running on GPU (set Trainer(gpus=...))."
            )
        # the GPU this process trains on (each ddp rank has its own; rank 0 reports)
        self.gpu_ids = str(trainer.root_device.index or 0)

    def on_train_epoch_start(self, *args: Any, **kwargs: Any) -> None:
        self.batch_started_at = self.batch_ended_at = None

    @rank_zero_only
    def on_train_batch_start(self, trainer: Trainer, *args: Any, **kwargs: Any) -> None:
        if self.intra_step_time:
            self.batch_started_at = time.time()
        if not _should_log(trainer):
            return
        logs = self._query(self._usage_keys())
        if self.inter_step_time and self.batch_ended_at is not None:
            logs["batch_time/inter_step (ms)"] = (time.time() - self.batch_ended_at) * 1000
        if trainer.logger is not None:
            trainer.logger.log_metrics(logs, step=trainer.global_step)

    @rank_zero_only
    def on_train_batch_end(self, trainer: Trainer, *args: Any, **kwargs: Any) -> None:
        if self.inter_step_time:
            self.batch_ended_at = time.time()
        if not _should_log(trainer):
            return
        logs = self._query(self._usage_keys() + self._device_keys())
        if self.intra_step_time and self.batch_started_at is not None:
            logs["batch_time/intra_step (ms)"] = (time.time() - self.batch_started_at) * 1000
        if trainer.logger is not None:
            trainer.logger.log_metrics(logs, step=trainer.global_step)

    def _usage_keys(self) -> list[tuple[str, str]]:
        keys = [("utilization.gpu", "%")] if self.gpu_utilization else []
        if self.memory_utilization:
            keys += [("memory.used", "MB"), ("memory.free", "MB"), ("utilization.memory", "%")]
        return keys

    def _device_keys(self) -> list[tuple[str, str]]:
        keys = [("fan.speed", "%")] if self.fan_speed else []
        if self.temperature:
            keys += [("temperature.gpu", "°C"), ("temperature.memory", "°C")]
        return keys

    def _query(self, keys: list[tuple[str, str]]) -> dict[str, float]:
        if not keys:
            return {}
        smi = shutil.which("nvidia-smi") or "nvidia-smi"
        result = subprocess.run(
            [
                smi,
                f"--query-gpu={','.join(name for name, _ in keys)}",
                "--format=csv,nounits,noheader",
                f"--id={self.gpu_ids}",
            ],
            capture_output=True,
            encoding="utf-8",
            check=True,
        )
        rows = [[_number(cell) for cell in line.split(",")] for line in result.stdout.splitlines()]
        return self._parse_gpu_stats(self.gpu_ids, rows, keys)

    @staticmethod
    def _parse_gpu_stats(
        gpu_ids: str, stats: list[list[float]], keys: list[tuple[str, str]]
    ) -> dict[str, float]:
        """One row of `stats` per id in `gpu_ids` ('0,1'), one column per key, as 1.0 names
        them: {'gpu_id: 0/memory.used (MB)': ...}."""
        return {
            f"gpu_id: {gpu_id}/{name} ({unit})": row[column]
            for gpu_id, row in zip(gpu_ids.split(","), stats, strict=False)
            for column, (name, unit) in enumerate(keys)
        }


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:  # '[N/A]' for a fan a card does not have
        return 0.0


def _should_log(trainer: Trainer) -> bool:
    due = (trainer.global_step + 1) % trainer.log_every_n_steps == 0 or trainer.should_stop
    return due and not trainer.fast_dev_run
