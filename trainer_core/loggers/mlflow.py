"""`MLFlowLogger`: metrics and parameters to an MLflow tracking server or a local `mlruns`
folder (the `mlflow` package, optional).

The experiment is looked up by name (created when missing) and a run started in it on first
use, once; `name` is the experiment id and `version` the run id, so checkpoints land in
`save_dir/<experiment id>/<run id>/checkpoints` next to MLflow's own files.
"""

from __future__ import annotations

import re
import time
import warnings
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment
from trainer_core.loggers.optional import missing_package
from trainer_core.utilities.distributed import rank_zero_only

# `mlflow` and `MlflowClient` are what tests and users patch; None when not installed.
try:
    import mlflow
    from mlflow.tracking import MlflowClient
except ImportError:
    mlflow = None
    MlflowClient = None

LOCAL_FILE_URI_PREFIX = "file:"
# what MLflow accepts in a metric name; anything else is dropped with a warning
_INVALID_METRIC_CHARS = re.compile(r"[^A-Za-z0-9_\-\./ ]")
_RUN_STATUS = {"success": "FINISHED", "finished": "FINISHED", "failed": "FAILED"}


class MLFlowLogger(LightningLoggerBase):
    """Lightning 1.0's `MLFlowLogger(experiment_name, tracking_uri, tags, save_dir, prefix)`.

    Without `tracking_uri` the runs are written under `save_dir` (default `./mlruns`).
    """

    def __init__(
        self,
        experiment_name: str = "default",
        tracking_uri: str | None = None,
        tags: dict[str, Any] | None = None,
        save_dir: str | None = "./mlruns",
        prefix: str = "",
    ) -> None:
        if mlflow is None:
            raise missing_package("MLFlowLogger", "mlflow")
        super().__init__()
        if not tracking_uri and save_dir:
            tracking_uri = f"{LOCAL_FILE_URI_PREFIX}{save_dir}"
        self._experiment_name = experiment_name
        self._tracking_uri = tracking_uri
        self.tags = tags
        self._prefix = prefix
        self._experiment_id: str | None = None
        self._run_id: str | None = None
        self._mlflow_client = MlflowClient(tracking_uri)

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The `MlflowClient`, with this logger's experiment and run created on first use."""
        if self._experiment_id is None:
            found = self._mlflow_client.get_experiment_by_name(self._experiment_name)
            if found is not None:
                self._experiment_id = found.experiment_id
            else:
                self._experiment_id = self._mlflow_client.create_experiment(
                    name=self._experiment_name
                )
        if self._run_id is None:
            run = self._mlflow_client.create_run(
                experiment_id=self._experiment_id, tags=dict(self.tags or {})
            )
            self._run_id = run.info.run_id
        return self._mlflow_client

    @property
    def run_id(self) -> str | None:
        _ = self.experiment
        return self._run_id

    @property
    def experiment_id(self) -> str | None:
        _ = self.experiment
        return self._experiment_id

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        params = self._flatten_dict(self._convert_params(params))
        for key, value in params.items():
            self.experiment.log_param(self.run_id, key, value)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        timestamp_ms = int(time.time() * 1000)
        for key, value in metrics.items():
            if isinstance(value, str):
                warnings.warn(
                    f"MLFlowLogger: metric {key}={value!r} is a string; MLflow takes numbers only, "
                    "so it is not logged.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            name = f"{self._prefix}-{key}" if self._prefix else key
            clean = _INVALID_METRIC_CHARS.sub("", name)
            if clean != name:
                warnings.warn(
                    f"MLFlowLogger: metric {name!r} has special characters in metric name that MLflow "
                    f"does not accept; it is logged as {clean!r}.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            if isinstance(value, torch.Tensor):
                value = value.item()
            self.experiment.log_metric(self.run_id, clean, value, timestamp_ms, step)

    @rank_zero_only
    def finalize(self, status: str = "FINISHED") -> None:
        """Mark the MLflow run FINISHED or FAILED."""
        super().finalize(status)
        if self._run_id is not None:
            self.experiment.set_terminated(self._run_id, _RUN_STATUS.get(status, status))

    @property
    def save_dir(self) -> str | None:
        """The local folder of a `file:` tracking URI; None for a tracking server."""
        if self._tracking_uri and self._tracking_uri.startswith(LOCAL_FILE_URI_PREFIX):
            return self._tracking_uri[len(LOCAL_FILE_URI_PREFIX) :]
        return None

    @property
    def name(self) -> str:
        return str(self.experiment_id)

    @property
    def version(self) -> str:
        return str(self.run_id)
