"""`CSVLogger`: `save_dir/name/version_N/metrics.csv` (one row per logged step) and hparams.yaml.

The files are written by an `ExperimentWriter` for the version folder (`logger.experiment`).
"""

from __future__ import annotations

import csv
import os
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment, sanitize_params
from trainer_core.loggers.versions import VersionedDirectory, write_hparams_yaml


class ExperimentWriter:
    """Keeps rows in memory and rewrites metrics.csv (and hparams.yaml) on every `save()`.

    Columns are the union of keys in order of first appearance; every row has a `step` column.
    """

    NAME_HPARAMS_FILE = "hparams.yaml"
    NAME_METRICS_FILE = "metrics.csv"

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.metrics: list[dict[str, float]] = []
        self.hparams: dict[str, Any] = {}
        self.metrics_file_path = os.path.join(log_dir, self.NAME_METRICS_FILE)

    def log_hparams(self, params: dict[str, Any]) -> None:
        self.hparams.update(params)

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        row = {k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in metrics.items()}
        row["step"] = step if step is not None else len(self.metrics)
        self.metrics.append(row)

    def save(self) -> None:
        """The version folder exists even with nothing logged (Lightning 1.0)."""
        os.makedirs(self.log_dir, exist_ok=True)
        write_hparams_yaml(os.path.join(self.log_dir, self.NAME_HPARAMS_FILE), self.hparams)
        if not self.metrics:
            return
        columns: dict[str, None] = {}
        for row in self.metrics:
            columns.update(dict.fromkeys(row))
        tmp = f"{self.metrics_file_path}.tmp"
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(self.metrics)
        os.replace(tmp, self.metrics_file_path)


class CSVLogger(VersionedDirectory, LightningLoggerBase):
    """Writes `metrics.csv` and `hparams.yaml` under `save_dir/name/version_N`."""

    METRICS_FILE = ExperimentWriter.NAME_METRICS_FILE

    def __init__(
        self, save_dir: str, name: str | None = "default", version: int | str | None = None
    ) -> None:
        super().__init__()
        self._init_directory(save_dir, name, version)
        self._experiment: ExperimentWriter | None = None

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._experiment = ExperimentWriter(self.log_dir)
        return self._experiment

    @property
    def rows(self) -> list[dict[str, float]]:
        return self.experiment.metrics

    @property
    def hparams(self) -> dict[str, Any]:
        return self.experiment.hparams

    def log_hyperparams(self, params: Any) -> None:
        self.experiment.log_hparams(sanitize_params(params))
        write_hparams_yaml(
            os.path.join(self.log_dir, ExperimentWriter.NAME_HPARAMS_FILE), self.hparams
        )

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.experiment.log_metrics(metrics, step)

    def save(self) -> None:
        super().save()
        self.experiment.save()
