"""`NeptuneLogger`: metrics, images and artifacts to Neptune (the legacy `neptune-client`
package, optional).

Unlike the other loggers the Neptune experiment is created when the logger is built (on
global rank 0), as in Lightning 1.0; `offline_mode=True` uses Neptune's offline backend, which
sends nothing. After `fit` the experiment is stopped unless `close_after_fit=False`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment
from trainer_core.loggers.optional import missing_package
from trainer_core.utilities.distributed import current_rank, rank_zero_only

# `neptune` is what tests and users patch; None when not installed.
try:
    import neptune
except ImportError:
    neptune = None

_OFFLINE_PROJECT = "dry-run/project"


class NeptuneLogger(LightningLoggerBase):
    """Lightning 1.0's `NeptuneLogger(api_key, project_name, close_after_fit, offline_mode,
    experiment_name, upload_source_files, params, properties, tags, **kwargs)`; `kwargs` go to
    Neptune's `create_experiment`."""

    def __init__(
        self,
        api_key: str | None = None,
        project_name: str | None = None,
        close_after_fit: bool | None = True,
        offline_mode: bool = False,
        experiment_name: str | None = None,
        upload_source_files: list[str] | None = None,
        params: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if neptune is None:
            raise missing_package("NeptuneLogger", "neptune-client")
        super().__init__()
        self.api_key = api_key
        self.project_name = project_name
        self.offline_mode = offline_mode
        self.close_after_fit = close_after_fit
        self.experiment_name = experiment_name
        self.upload_source_files = upload_source_files
        self.params = params
        self.properties = properties
        self.tags = tags
        self._kwargs = kwargs
        self._experiment: Any = self._create_experiment() if current_rank() == 0 else None

    def _create_experiment(self) -> Any:
        if self.offline_mode:
            session = neptune.Session(backend=neptune.OfflineBackend())
            project = session.get_project(_OFFLINE_PROJECT)
        else:
            session = neptune.Session.with_default_backend(api_token=self.api_key)
            project = session.get_project(self.project_name)
        experiment = project.create_experiment(
            name=self.experiment_name,
            params=self.params,
            properties=self.properties,
            tags=self.tags,
            upload_source_files=self.upload_source_files,
            **self._kwargs,
        )
        return experiment

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None:
            self._experiment = self._create_experiment()
        return self._experiment

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Neptune keeps hyperparameters as properties named `param__<name>`."""
        for key, value in self._flatten_dict(self._convert_params(params)).items():
            self.experiment.set_property(f"param__{key}", value)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step=step)

    @rank_zero_only
    def log_metric(
        self, metric_name: str, metric_y: Any, step: int | None = None, timestamp: Any = None
    ) -> None:
        """One value; with `step` it is Neptune's x coordinate."""
        if isinstance(metric_y, torch.Tensor) and metric_y.numel() == 1:
            metric_y = metric_y.item()
        self._send(self.experiment.log_metric, metric_name, metric_y, step, timestamp)

    @rank_zero_only
    def log_text(
        self, log_name: str, text: str, step: int | None = None, timestamp: Any = None
    ) -> None:
        # Lightning 1.0 sends text through Neptune's log_metric channel; kept for parity
        self._send(self.experiment.log_metric, log_name, text, step, timestamp)

    @rank_zero_only
    def log_image(
        self, log_name: str, image: Any, step: int | None = None, timestamp: Any = None
    ) -> None:
        """`image`: a file path, a PIL image or a matplotlib figure."""
        self._send(self.experiment.log_image, log_name, image, step, timestamp)

    @staticmethod
    def _send(method: Any, name: str, value: Any, step: int | None, timestamp: Any) -> None:
        extra = {"timestamp": timestamp} if timestamp is not None else {}
        if step is None:
            method(name, value, **extra)
        else:
            method(name, x=step, y=value, **extra)

    @rank_zero_only
    def log_artifact(self, artifact: str, destination: str | None = None) -> None:
        self.experiment.log_artifact(artifact, destination)

    @rank_zero_only
    def set_property(self, key: str, value: Any) -> None:
        self.experiment.set_property(key, value)

    @rank_zero_only
    def append_tags(self, tags: str | Iterable[str]) -> None:
        if isinstance(tags, str):
            tags = [tags]
        self.experiment.append_tags(*tags)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self.close_after_fit and self._experiment is not None:
            self._experiment.stop()

    @property
    def save_dir(self) -> str | None:
        """None: Neptune keeps everything on its server."""
        return None

    @property
    def name(self) -> Any:
        """The experiment's name (a fixed one offline, where Neptune assigns none)."""
        return "offline-name" if self.offline_mode else self.experiment.name

    @property
    def version(self) -> Any:
        """The experiment's id, e.g. `PROJ-12` (a fixed one offline)."""
        return "offline-id" if self.offline_mode else self.experiment.id

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_experiment"] = None  # a live Neptune experiment does not pickle
        return state
