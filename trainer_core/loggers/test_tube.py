"""`TestTubeLogger`: logs through the `test-tube` package's `Experiment` (optional), which
writes TensorBoard event files and a metrics CSV under `save_dir/name/version_N`.

New code should use `TensorBoardLogger` or `CSVLogger`, which need no extra package.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from trainer_core.loggers.base import LightningLoggerBase, rank_zero_experiment
from trainer_core.loggers.optional import missing_package
from trainer_core.utilities.distributed import current_rank, rank_zero_only

# `Experiment` is what tests and users patch; None when test-tube is not installed.
try:
    from test_tube import Experiment
except ImportError:
    Experiment = None


class TestTubeLogger(LightningLoggerBase):
    """Lightning 1.0's `TestTubeLogger(save_dir, name, description, debug, version,
    create_git_tag, log_graph, prefix)`."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        save_dir: str,
        name: str = "default",
        description: str | None = None,
        debug: bool = False,
        version: int | None = None,
        create_git_tag: bool = False,
        log_graph: bool = False,
        prefix: str = "",
    ) -> None:
        if Experiment is None:
            raise missing_package("TestTubeLogger", "test-tube")
        super().__init__()
        self._save_dir = save_dir
        self._name = name
        self.description = description
        self.debug = debug
        self._version = version
        self.create_git_tag = create_git_tag
        self._log_graph = log_graph
        self._prefix = prefix
        self._experiment: Any = None

    @property  # type: ignore[misc]
    @rank_zero_experiment
    def experiment(self) -> Any:
        """test-tube's `Experiment` (created on first use)."""
        if self._experiment is None:
            self._experiment = Experiment(
                save_dir=self.save_dir,
                name=self._name,
                debug=self.debug,
                version=self._version,
                description=self.description,
                create_git_tag=self.create_git_tag,
                rank=current_rank(),
            )
        return self._experiment

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        self.experiment.debug = self.debug
        params = self._convert_params(params)
        self.experiment.argparse(argparse.Namespace(**self._flatten_dict(params)))

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        self.experiment.debug = self.debug
        values = {
            (f"{self._prefix}-{key}" if self._prefix else key): value.item()
            if isinstance(value, torch.Tensor)
            else value
            for key, value in metrics.items()
        }
        self.experiment.log(values, global_step=step)

    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        if not self._log_graph:
            return
        sample = input_array if input_array is not None else model.example_input_array
        if sample is not None:
            self.experiment.add_graph(model, sample)

    @rank_zero_only
    def save(self) -> None:
        super().save()
        if self._experiment is not None:
            self._experiment.debug = self.debug
            self._experiment.save()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.debug = self.debug
            self._experiment.close()

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def name(self) -> Any:
        return self._experiment.name if self._experiment is not None else self._name

    @property
    def version(self) -> Any:
        return self._experiment.version if self._experiment is not None else self._version

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_experiment"] = None  # test-tube's writer holds open files
        return state
