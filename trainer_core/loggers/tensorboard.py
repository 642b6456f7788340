"""`TensorBoardLogger`: event files under `save_dir/name/version_N` that TensorBoard reads."""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment, sanitize_params
from trainer_core.loggers.versions import VersionedDirectory, write_hparams_yaml


class TensorBoardLogger(VersionedDirectory, LightningLoggerBase):
    """Writes scalars (and hparams) with `torch.utils.tensorboard.SummaryWriter`.

    The writer is created lazily on first use, so constructing the logger creates no files.
    """

    NAME_HPARAMS_FILE = "hparams.yaml"

    def __init__(
        self,
        save_dir: str,
        name: str | None = "default",
        version: int | str | None = None,
        log_graph: bool = False,
        default_hp_metric: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._init_directory(save_dir, name, version)
        self._log_graph = log_graph
        self._default_hp_metric = default_hp_metric
        self._kwargs = kwargs
        self._experiment: Any = None
        self.hparams: dict[str, Any] = {}

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None:
            from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when used

            os.makedirs(self.log_dir, exist_ok=True)
            self._experiment = SummaryWriter(log_dir=self.log_dir, **self._kwargs)
        return self._experiment

    def log_hyperparams(self, params: Any, metrics: dict[str, float] | None = None) -> None:
        params = sanitize_params(params)
        self.hparams.update(params)
        write_hparams_yaml(os.path.join(self.log_dir, self.NAME_HPARAMS_FILE), self.hparams)
        writer = self.experiment  # the run's event file exists from its start (Lightning 1.0)
        if not params:
            return
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        if metrics is None and self._default_hp_metric:
            metrics = {"hp_metric": -1.0}
        scalar_params = {
            k: v if isinstance(v, bool | int | float | str) else str(v) for k, v in params.items()
        }
        exp, ssi, sei = hparams_summary(scalar_params, metrics or {})
        file_writer = writer._get_file_writer()
        file_writer.add_summary(exp)
        file_writer.add_summary(ssi)
        file_writer.add_summary(sei)
        if metrics:
            # through log_metrics, so subclasses see the hp_metric row as 1.0's do
            self.log_metrics(metrics, 0)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            if isinstance(value, torch.Tensor):
                value = value.item()
            self.experiment.add_scalar(key, value, step)

    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        if not self._log_graph:
            return
        sample = (
            input_array if input_array is not None else getattr(model, "example_input_array", None)
        )
        if sample is None:
            warnings.warn(
                "Could not log computational graph since the `model.example_input_array` attribute "
                "is not set or `input_array` was not given.",
                UserWarning,
                stacklevel=2,
            )
            return
        self.experiment.add_graph(model, sample)

    def save(self) -> None:
        super().save()
        if self._experiment is not None:
            self._experiment.flush()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_experiment"] = None  # the SummaryWriter's thread and open file do not pickle
        return state

    def finalize(self, status: str) -> None:
        self.save()
        if self._experiment is not None:
            self._experiment.close()
            self._experiment = None
