"""`CometLogger`: metrics and hyperparameters to Comet.ml (the `comet-ml` package, optional).

Online when an API key is known (argument or Comet's own config/env), offline (files under
`save_dir`) when only `save_dir` is given or `offline=True`. The Comet experiment is created
lazily, on first use, on global rank 0 only; the logger pickles without it.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment
from trainer_core.loggers.optional import missing_package
from trainer_core.utilities.distributed import rank_zero_only

# The module-level names are what tests and users patch (`...loggers.comet.comet_ml`); None
# when the package is not installed, and the logger says what to install when built.
try:
    import comet_ml
    from comet_ml import ExistingExperiment as CometExistingExperiment
    from comet_ml import Experiment as CometExperiment
    from comet_ml import OfflineExperiment as CometOfflineExperiment
    from comet_ml.api import API
except ImportError:
    comet_ml = None
    CometExperiment = CometExistingExperiment = CometOfflineExperiment = API = None

_EXPERIMENT_KEY_ENV = "COMET_EXPERIMENT_KEY"


class CometLogger(LightningLoggerBase):
    """Lightning 1.0's `CometLogger(api_key, save_dir, project_name, rest_api_key,
    experiment_name, experiment_key, offline, **kwargs)`; `kwargs` (e.g. `workspace`) go to
    the Comet experiment's constructor. `experiment_key` resumes an existing experiment."""

    def __init__(
        self,
        api_key: str | None = None,
        save_dir: str | None = None,
        project_name: str | None = None,
        rest_api_key: str | None = None,
        experiment_name: str | None = None,
        experiment_key: str | None = None,
        offline: bool = False,
        **kwargs: Any,
    ) -> None:
        if comet_ml is None:
            raise missing_package("CometLogger", "comet-ml")
        super().__init__()
        if api_key is None:  # Comet's own lookup: ~/.comet.config, COMET_API_KEY
            api_key = comet_ml.config.get_api_key(None, comet_ml.config.get_config())
        if api_key is not None and not offline:
            self.mode = "online"
        elif save_dir is not None:
            self.mode = "offline"
        else:
            raise MisconfigurationException(
                "CometLogger needs an api_key (online) or a save_dir (offline); neither was given "
                "and Comet's config has no API key."
            )
        self.api_key = api_key
        self._save_dir = save_dir
        self._project_name = project_name
        self._experiment_name = experiment_name
        self._experiment_key = experiment_key
        self._future_experiment_key: str | None = None
        self._kwargs = kwargs
        self._experiment: Any = None
        self.comet_api = API(rest_api_key) if rest_api_key is not None else None

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The Comet experiment (Experiment, ExistingExperiment or OfflineExperiment)."""
        if self._experiment is not None:
            return self._experiment
        # A key chosen before the experiment existed (see `version`) becomes the new
        # experiment's key through Comet's environment variable.
        set_key = self._future_experiment_key is not None and _EXPERIMENT_KEY_ENV not in os.environ
        if set_key:
            os.environ[_EXPERIMENT_KEY_ENV] = str(self._future_experiment_key)
        try:
            if self.mode == "online" and self._experiment_key is not None:
                experiment = CometExistingExperiment(
                    api_key=self.api_key,
                    previous_experiment=self._experiment_key,
                    project_name=self._project_name,
                    **self._kwargs,
                )
            elif self.mode == "online":
                experiment = CometExperiment(
                    api_key=self.api_key, project_name=self._project_name, **self._kwargs
                )
            else:
                experiment = CometOfflineExperiment(
                    offline_directory=self.save_dir, project_name=self._project_name, **self._kwargs
                )
        finally:
            if set_key:
                os.environ.pop(_EXPERIMENT_KEY_ENV, None)
        if self._experiment_name:
            experiment.set_name(self._experiment_name)
        self._experiment = experiment
        return experiment

    def reset_experiment(self) -> None:
        """Forget the experiment (the next use starts a new one)."""
        self._experiment = None
        self._future_experiment_key = None

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        params = self._flatten_dict(self._convert_params(params))
        self.experiment.log_parameters(params)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """`epoch` is Comet's own argument, not a metric."""
        values = {k: v.item() if isinstance(v, torch.Tensor) else v for k, v in metrics.items()}
        epoch = values.pop("epoch", None)
        self.experiment.log_metrics(values, epoch=epoch, step=step)

    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        self.experiment.set_model_graph(model)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """End the Comet experiment: Comet uploads (or writes the offline archive) at its end."""
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.end()
        self.reset_experiment()

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def name(self) -> str:
        if self._experiment is not None and self._experiment.project_name is not None:
            return str(self._experiment.project_name)
        return self._project_name or "comet-default"

    @property
    def version(self) -> str:
        """The experiment key; known before the experiment exists (without creating it)."""
        if self._experiment is not None:
            return str(self._experiment.id)
        if self._experiment_key is not None:
            return self._experiment_key
        if _EXPERIMENT_KEY_ENV in os.environ:
            return os.environ[_EXPERIMENT_KEY_ENV]
        if self._future_experiment_key is None:
            self._future_experiment_key = comet_ml.generate_guid()
        return str(self._future_experiment_key)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_experiment"] = None  # a live Comet connection does not pickle
        return state
