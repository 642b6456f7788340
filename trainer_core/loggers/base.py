"""`LightningLoggerBase` and `LoggerCollection`: the logger interface the Trainer talks to.

Stable contract (the Runyard worker injects its own logger through it):
- properties `name`, `version`, `experiment`, `save_dir`;
- `log_metrics(metrics: dict[str, float], step: int)`: plain floats, one call per logged step;
- `log_hyperparams(params: dict)`: called once at fit start with the module's hparams;
- `log_graph(model, input_array=None)`: optional;
- `save()`: flush what is buffered; `finalize(status)`: called once at the end with
  "success", "failed" (an exception left `fit`) or "interrupted" (KeyboardInterrupt);
- `agg_and_log_metrics(metrics, step)`: what the Trainer calls, followed by
  `flush_aggregated()`, so each call becomes one `log_metrics` row as in Lightning 1.0 (the
  batches of an accumulation window are separate rows at the same step). Called without a
  flush, dicts logged at the same step are merged (a repeated key is averaged) and sent when
  a new step arrives or on `save()`.
The Trainer only calls loggers on global rank 0.
"""

from __future__ import annotations

import argparse
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from trainer_core.utilities.distributed import current_rank


def sanitize_params(params: Mapping[str, Any] | argparse.Namespace | None) -> dict[str, Any]:
    """Hyperparameters as a flat-ish dict of plain values, for YAML, TensorBoard or CSV."""
    if params is None:
        return {}
    if isinstance(params, argparse.Namespace):
        params = vars(params)
    clean: dict[str, Any] = {}
    for key, value in dict(params).items():
        if isinstance(value, argparse.Namespace):
            value = vars(value)
        if isinstance(value, torch.Tensor):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, complex):  # no logger backend stores complex numbers
            value = str(value)
        clean[str(key)] = value
    return clean


def metrics_to_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Convert tensor and NumPy scalars to floats (loggers take plain numbers)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor):
            value = value.item()
        out[key] = float(value)
    return out


class DummyExperiment:
    """What a logger's `experiment` is on ranks other than global zero: every method call is
    accepted and does nothing, so user code like `self.logger.experiment.add_image(...)` runs
    unchanged in every process of a ddp run."""

    def nop(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing."""

    def __getattr__(self, _: str) -> Callable[..., None]:
        return self.nop

    def __getitem__(self, _: Any) -> DummyExperiment:
        return self


def rank_zero_experiment(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Decorates a logger's `experiment` getter: the real object on global rank 0 (built
    there only), a `DummyExperiment` elsewhere."""

    @functools.wraps(fn)
    def experiment(self: Any) -> Any:
        if current_rank() != 0:
            return DummyExperiment()
        return fn(self)

    return experiment


class LightningLoggerBase(ABC):
    """Base class of loggers: subclasses implement `log_metrics`, `log_hyperparams`,
    `experiment`, `name` and `version`."""

    # helpers the 1.0 docs show custom loggers using in log_hyperparams
    @staticmethod
    def _convert_params(params: Mapping[str, Any] | argparse.Namespace | None) -> dict[str, Any]:
        if params is None:
            return {}
        return dict(vars(params)) if isinstance(params, argparse.Namespace) else dict(params)

    @staticmethod
    def _flatten_dict(params: Mapping[str, Any], delimiter: str = "/") -> dict[str, Any]:
        """Nested dicts (and Namespaces) as one level: `{'a': {'b': 1}}` -> `{'a/b': 1}`."""
        flat: dict[str, Any] = {}
        for key, value in params.items():
            if isinstance(value, argparse.Namespace):
                value = vars(value)
            if isinstance(value, Mapping):
                for sub, inner in LightningLoggerBase._flatten_dict(value, delimiter).items():
                    flat[f"{key}{delimiter}{sub}"] = inner
            else:
                flat[str(key)] = value
        return flat

    @staticmethod
    def _sanitize_params(params: Mapping[str, Any]) -> dict[str, Any]:
        """NumPy and tensor values as plain Python values."""
        return sanitize_params(params)

    def __init__(
        self,
        agg_key_funcs: Mapping[str, Callable[[Sequence[float]], float]] | None = None,
        agg_default_func: Callable[[Sequence[float]], float] = np.mean,
    ) -> None:
        self._agg_key_funcs = dict(agg_key_funcs or {})
        self._agg_default_func = agg_default_func
        self._pending_step: int | None = None
        self._pending: list[dict[str, float]] = []

    def update_agg_funcs(
        self,
        agg_key_funcs: Mapping[str, Callable[[Sequence[float]], float]] | None = None,
        agg_default_func: Callable[[Sequence[float]], float] = np.mean,
    ) -> None:
        """How metrics logged twice at one step are merged: per key, else the default."""
        if agg_key_funcs:
            self._agg_key_funcs.update(agg_key_funcs)
        self._agg_default_func = agg_default_func

    # --- what subclasses provide ----------------------------------------------------------------
    @property
    @abstractmethod
    def experiment(self) -> Any:
        """The underlying writer object (e.g. a SummaryWriter)."""

    @abstractmethod
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record `metrics` (plain floats) at `step`."""

    @abstractmethod
    def log_hyperparams(self, params: Any) -> None:
        """Record the run's hyperparameters."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The experiment name (a folder level for file loggers)."""

    @property
    @abstractmethod
    def version(self) -> int | str:
        """The run's version (a folder level for file loggers)."""

    @property
    def save_dir(self) -> str | None:
        """Root folder of this logger's files, or None when it writes none."""
        return None

    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:  # noqa: B027 (optional hook)
        """Record the model graph; optional."""

    # --- aggregation and lifecycle ------------------------------------------------------------
    def agg_and_log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Buffer `metrics` for `step`; flush the buffer when a different step arrives."""
        if step is None or step != self._pending_step:
            self._flush_pending()
            self._pending_step = step
        self._pending.append(metrics)
        if step is None:
            self._flush_pending()

    def flush_aggregated(self) -> None:
        """Send what `agg_and_log_metrics` is holding to `log_metrics` now."""
        self._flush_pending()

    def _flush_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if len(pending) == 1:
            merged = pending[0]
        else:
            collected: dict[str, list[float]] = {}
            for metrics in pending:
                for key, value in metrics.items():
                    collected.setdefault(key, []).append(value)
            merged = {
                key: float(self._agg_key_funcs.get(key, self._agg_default_func)(values))
                if len(values) > 1
                else values[0]
                for key, values in collected.items()
            }
        # by keyword, as 1.0 calls it (a subclass or a mock may rely on the names)
        self.log_metrics(metrics=merged, step=self._pending_step)

    def save(self) -> None:
        """Flush buffered metrics; file loggers also write their files."""
        self._flush_pending()

    def finalize(self, status: str) -> None:
        """Called once at the end of `fit`/`test` with "success", "failed" or "interrupted"."""
        self.save()

    def close(self) -> None:
        self.save()


class LoggerCollection(LightningLoggerBase):
    """Several loggers used as one (what `Trainer(logger=[a, b])` builds)."""

    def __init__(self, logger_iterable: Iterable[LightningLoggerBase]) -> None:
        super().__init__()
        self._logger_iterable = list(logger_iterable)

    def __getitem__(self, index: int) -> LightningLoggerBase:
        return self._logger_iterable[index]

    def __len__(self) -> int:
        return len(self._logger_iterable)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._logger_iterable)

    @property
    def experiment(self) -> list[Any]:
        return [logger.experiment for logger in self._logger_iterable]

    def update_agg_funcs(
        self,
        agg_key_funcs: Mapping[str, Callable[[Sequence[float]], float]] | None = None,
        agg_default_func: Callable[[Sequence[float]], float] = np.mean,
    ) -> None:
        for logger in self._logger_iterable:
            logger.update_agg_funcs(agg_key_funcs, agg_default_func)

    def agg_and_log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for logger in self._logger_iterable:
            logger.agg_and_log_metrics(metrics, step)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for logger in self._logger_iterable:
            logger.log_metrics(metrics=metrics, step=step)

    def flush_aggregated(self) -> None:
        for logger in self._logger_iterable:
            logger.flush_aggregated()

    def log_hyperparams(self, params: Any) -> None:
        for logger in self._logger_iterable:
            logger.log_hyperparams(params)

    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        for logger in self._logger_iterable:
            logger.log_graph(model, input_array)

    def save(self) -> None:
        for logger in self._logger_iterable:
            logger.save()

    def finalize(self, status: str) -> None:
        for logger in self._logger_iterable:
            logger.finalize(status)

    def close(self) -> None:
        for logger in self._logger_iterable:
            logger.close()

    @property
    def save_dir(self) -> str | None:
        """None: the loggers of a collection each have their own folder (Lightning 1.0)."""
        return None

    @property
    def name(self) -> str:
        return "_".join(str(logger.name) for logger in self._logger_iterable)

    @property
    def version(self) -> str:
        return "_".join(str(logger.version) for logger in self._logger_iterable)
