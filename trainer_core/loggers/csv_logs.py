"""`CSVLogger`: `save_dir/name/version_N/metrics.csv` (one row per logged step) and hparams.yaml."""

from __future__ import annotations

import csv
import os
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, sanitize_params
from trainer_core.loggers.versions import next_version, version_dir_name, write_hparams_yaml


class CSVLogger(LightningLoggerBase):
    """Keeps rows in memory and rewrites metrics.csv on every `save()`.

    Columns are the union of keys in order of first appearance; every row has a `step` column.
    """

    METRICS_FILE = "metrics.csv"

    def __init__(
        self, save_dir: str, name: str | None = "default", version: int | str | None = None
    ) -> None:
        super().__init__()
        self._save_dir = save_dir
        self._name = name or ""
        self._version = version
        self.rows: list[dict[str, float]] = []
        self.hparams: dict[str, Any] = {}

    @property
    def root_dir(self) -> str:
        return os.path.join(self._save_dir, self._name) if self._name else self._save_dir

    @property
    def log_dir(self) -> str:
        return os.path.join(self.root_dir, version_dir_name(self.version))

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | str:
        if self._version is None:
            self._version = next_version(self.root_dir)
        return self._version

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
        super().save()
        if not self.rows:
            return
        columns: dict[str, None] = {}
        for row in self.rows:
            columns.update(dict.fromkeys(row))
        os.makedirs(self.log_dir, exist_ok=True)
        path = os.path.join(self.log_dir, self.METRICS_FILE)
        tmp = f"{path}.tmp"
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, path)
