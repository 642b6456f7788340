"""`CSVLogger`: `save_dir/name/version_N/metrics.csv` (one row per logged step) and hparams.yaml."""

from __future__ import annotations

import csv
import os
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, sanitize_params
from trainer_core.loggers.versions import VersionedDirectory, write_hparams_yaml


class CSVLogger(VersionedDirectory, LightningLoggerBase):
    """Keeps rows in memory and rewrites metrics.csv on every `save()`.

    Columns are the union of keys in order of first appearance; every row has a `step` column.
    """

    METRICS_FILE = "metrics.csv"

    def __init__(
        self, save_dir: str, name: str | None = "default", version: int | str | None = None
    ) -> None:
        super().__init__()
        self._init_directory(save_dir, name, version)
        self.rows: list[dict[str, float]] = []
        self.hparams: dict[str, Any] = {}

    @property
    def experiment(self) -> CSVLogger:
        return self

    def log_hyperparams(self, params: Any) -> None:
        self.hparams.update(sanitize_params(params))
        write_hparams_yaml(os.path.join(self.log_dir, "hparams.yaml"), self.hparams)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        row = {k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in metrics.items()}
        row["step"] = step if step is not None else len(self.rows)
        self.rows.append(row)

    def save(self) -> None:
        """Write hparams.yaml and metrics.csv; the version folder exists even with nothing logged."""
        super().save()
        os.makedirs(self.log_dir, exist_ok=True)
        write_hparams_yaml(os.path.join(self.log_dir, "hparams.yaml"), self.hparams)
        if not self.rows:
            return
        columns: dict[str, None] = {}
        for row in self.rows:
            columns.update(dict.fromkeys(row))
        path = os.path.join(self.log_dir, self.METRICS_FILE)
        tmp = f"{path}.tmp"
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, path)
