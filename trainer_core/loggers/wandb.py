"""`WandbLogger`: metrics, hyperparameters and gradients to Weights & Biases (the `wandb`
package, optional).

The W&B run starts on first use (global rank 0 only) and pickles as its id, so a logger sent
to another process resumes the same run there. A second `fit` with the same logger continues
the run's step axis where the first one ended.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment
from trainer_core.loggers.optional import missing_package
from trainer_core.utilities.distributed import rank_zero_only

# `wandb` is what tests and users patch; None when not installed.
try:
    import wandb
except ImportError:
    wandb = None

_PLAIN = (bool, int, float, str, torch.Tensor)


class WandbLogger(LightningLoggerBase):
    """Lightning 1.0's `WandbLogger(name, save_dir, offline, id, anonymous, version, project,
    log_model, experiment, prefix, **kwargs)`; `kwargs` go to `wandb.init`. `version` is
    another spelling of `id`; `experiment` uses an already started run."""

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | None = None,
        offline: bool = False,
        id: str | None = None,
        anonymous: bool = False,
        version: str | None = None,
        project: str | None = None,
        log_model: bool = False,
        experiment: Any = None,
        prefix: str = "",
        **kwargs: Any,
    ) -> None:
        if wandb is None:
            raise missing_package("WandbLogger", "wandb")
        super().__init__()
        self._name = name
        self._save_dir = save_dir
        self._offline = offline
        self._id = version or id
        self._anonymous = "allow" if anonymous else None
        self._project = project
        self._log_model = log_model
        self._prefix = prefix
        self._experiment = experiment
        self._kwargs = kwargs
        self._step_offset = 0  # where this run's step axis continues on a later fit

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The W&B run (`wandb.init(...)` on first use)."""
        if self._experiment is None:
            if self._offline:
                os.environ["WANDB_MODE"] = "dryrun"
            self._experiment = wandb.init(
                name=self._name,
                dir=self._save_dir,
                project=self._project,
                anonymous=self._anonymous,
                id=self._id,
                resume="allow",
                **self._kwargs,
            )
            if self._log_model:  # checkpoints go where W&B uploads from
                self._save_dir = self._experiment.dir
        return self._experiment

    def watch(self, model: torch.nn.Module, log: str = "gradients", log_freq: int = 100) -> None:
        """Log the model's gradients (or parameters: `log='all'`) every `log_freq` steps."""
        self.experiment.watch(model, log=log, log_freq=log_freq)

    @staticmethod
    def _sanitize_callable_params(params: Mapping[str, Any]) -> dict[str, Any]:
        """Functions do not serialise: a function's value when it takes no argument and returns
        a plain value, else its name (e.g. argparse's type functions)."""

        def plain(value: Any) -> Any:
            if not callable(value):
                return value
            try:
                result = value()
            except Exception:
                return getattr(value, "__name__", repr(value))
            if isinstance(result, _PLAIN):
                return result
            return getattr(value, "__name__", repr(value))

        return {key: plain(value) for key, value in params.items()}

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        params = self._flatten_dict(self._convert_params(params))
        params = self._sanitize_callable_params(params)
        # W&B's config drops None values; 1.0 keeps them visible as the text 'None'
        params = {key: "None" if value is None else value for key, value in params.items()}
        self.experiment.config.update(params, allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        values = {
            (f"{self._prefix}-{key}" if self._prefix else key): value
            for key, value in metrics.items()
        }
        self.experiment.log(values, step=None if step is None else step + self._step_offset)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        # a later fit with this logger logs after the steps this one reached
        if self._experiment is not None:
            self._step_offset = self._experiment.step

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def name(self) -> Any:
        """The W&B project (the run's, once it started)."""
        return self._experiment.project_name() if self._experiment is not None else self._name

    @property
    def version(self) -> Any:
        """The W&B run id (the one asked for until the run started)."""
        return self._experiment.id if self._experiment is not None else self._id

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # the run itself does not pickle: keep its id, so unpickling resumes the same run
        if self._experiment is not None:
            state["_id"] = self._experiment.id
        state["_experiment"] = None
        return state
