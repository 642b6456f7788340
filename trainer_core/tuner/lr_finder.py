"""The learning-rate range test: train a few steps while the learning rate grows from
`min_lr` to `max_lr` (exponentially or linearly), record the smoothed loss at each step, and
suggest the rate where the loss falls fastest. Lightning 1.0's `trainer.tuner.lr_find`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.callbacks.base import Callback
from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.optimizers import parse_configure_optimizers
from trainer_core.tuner.trials import replace_method, reset_for_trial, trial_fits

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer

MODES = ("linear", "exponential")


class LRFinder:
    """What `lr_find` returns: `results` ({'lr': [...], 'loss': [...]}, one entry per optimizer
    step), `suggestion()` and `plot()`."""

    def __init__(self, mode: str, lr_min: float, lr_max: float, num_training: int) -> None:
        if mode not in MODES:
            raise MisconfigurationException(
                f"lr_find(mode={mode!r}): use 'linear' or 'exponential'."
            )
        self.mode = mode
        self.lr_min = lr_min
        self.lr_max = lr_max
        self.num_training = num_training
        self.results: dict[str, list[float]] = {}
        self._total_batch_idx = 0  # index of the last batch trained (Lightning 1.0 keeps it)
        self._optimal_idx: int | None = None

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step `step` (0-based) of the search."""
        fraction = step / self.num_training
        if self.mode == "linear":
            return self.lr_min + fraction * (self.lr_max - self.lr_min)
        return self.lr_min * (self.lr_max / self.lr_min) ** fraction

    def suggestion(self, skip_begin: int = 10, skip_end: int = 1) -> float | None:
        """The learning rate where the smoothed loss has its steepest descent, ignoring the
        first `skip_begin` and last `skip_end` points and any non-finite loss; None (with a
        warning) when too few points are left."""
        lrs = self.results.get("lr", [])
        losses = self.results.get("loss", [])
        end = len(losses) - skip_end if skip_end > 0 else len(losses)
        points = [(i, loss) for i in range(skip_begin, end) if math.isfinite(loss := losses[i])]
        if len(points) < 2:
            import warnings

            warnings.warn(
                f"lr_find has {len(points)} usable points after skipping; no suggestion. Try a "
                "larger num_training or smaller skip_begin/skip_end.",
                UserWarning,
                stacklevel=2,
            )
            self._optimal_idx = None
            return None
        steepest = _argmin(_gradient([loss for _, loss in points]))
        self._optimal_idx = points[steepest][0]
        return lrs[self._optimal_idx]

    def plot(self, suggest: bool = False, show: bool = False) -> Any:
        """A matplotlib figure of loss against learning rate (matplotlib must be installed)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise MisconfigurationException(
                "LRFinder.plot() needs matplotlib: pip install matplotlib"
            ) from exc
        lrs, losses = self.results["lr"], self.results["loss"]
        fig, ax = plt.subplots()
        ax.plot(lrs, losses)
        if self.mode == "exponential":
            ax.set_xscale("log")
        ax.set_xlabel("Learning rate")
        ax.set_ylabel("Loss")
        if suggest and self.suggestion() is not None and self._optimal_idx is not None:
            idx = self._optimal_idx
            ax.plot(lrs[idx], losses[idx], markersize=10, marker="o", color="red")
        if show:
            plt.show()
        return fig


def _gradient(values: Sequence[float]) -> list[float]:
    """Finite differences with unit spacing: central inside, one-sided at the two ends."""
    n = len(values)
    out = [values[1] - values[0]]
    out += [(values[i + 1] - values[i - 1]) / 2 for i in range(1, n - 1)]
    out.append(values[-1] - values[-2])
    return out


def _argmin(values: Sequence[float]) -> int:
    return min(range(len(values)), key=values.__getitem__)


class _LossCapture:
    """Wraps the model's training_step on the instance and keeps the loss of each batch."""

    def __init__(self, training_step: Callable[..., Any]) -> None:
        self.training_step = training_step
        self.pending: list[float] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.training_step(*args, **kwargs)
        loss = out.get("loss") if isinstance(out, Mapping) else out
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            self.pending.append(float(loss.detach()))
        return out


class _SearchRecorder(Callback):
    """Records the learning rate and the smoothed loss at every optimizer step, and stops the
    search once the loss exceeds `early_stop_threshold` times the best loss so far."""

    def __init__(
        self,
        finder: LRFinder,
        capture: _LossCapture,
        early_stop_threshold: float | None,
        beta: float = 0.98,
    ) -> None:
        self.finder = finder
        self.capture = capture
        self.early_stop_threshold = early_stop_threshold
        self.beta = beta  # how slowly the loss average forgets
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.avg_loss = 0.0
        self.best_loss = math.inf
        self.batches = 0

    def _steps_here(self, trainer: Any, batch_idx: int) -> bool:
        accumulate = trainer.accumulate_grad_batches
        every = accumulate if isinstance(accumulate, int) else 1
        return (batch_idx + 1) % every == 0

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        if self._steps_here(trainer, batch_idx):
            self.lrs.append(float(trainer.optimizers[0].param_groups[0]["lr"]))

    def on_train_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self.finder._total_batch_idx = self.batches
        self.batches += 1
        if not self._steps_here(trainer, batch_idx):
            return
        window, self.capture.pending = self.capture.pending, []
        loss = sum(window) / len(window) if window else math.nan
        step = len(self.losses) + 1
        # an exponential moving average, bias-corrected for the first steps
        self.avg_loss = self.beta * self.avg_loss + (1 - self.beta) * loss
        smoothed = self.avg_loss / (1 - self.beta**step)
        self.losses.append(smoothed)
        if (
            self.early_stop_threshold is not None
            and step > 1
            and not smoothed <= self.early_stop_threshold * self.best_loss
        ):
            trainer.should_stop = True  # diverging: more steps would only add noise
            trainer.max_steps = trainer.global_step + 1
        if smoothed < self.best_loss:
            self.best_loss = smoothed


def _searching_optimizers(
    configure_optimizers: Callable[[], Any], finder: LRFinder
) -> Callable[[], Any]:
    """configure_optimizers returning the user's one optimizer with the search's schedule."""

    def configure() -> Any:
        setup = parse_configure_optimizers(configure_optimizers())
        if len(setup.optimizers) != 1:
            raise MisconfigurationException(
                f"configure_optimizers returned {len(setup.optimizers)} optimizers; the learning "
                "rate finder works with exactly one."
            )
        optimizer = setup.optimizers[0]
        for group in optimizer.param_groups:
            group["lr"] = finder.lr_min
            group["initial_lr"] = finder.lr_min
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: finder.lr_at(step) / finder.lr_min
        )
        return [optimizer], [{"scheduler": schedule, "interval": "step"}]

    return configure


def lr_find(
    trainer: Trainer,
    model: LightningModule,
    train_dataloader: Any = None,
    val_dataloaders: Any = None,
    min_lr: float = 1e-8,
    max_lr: float = 1.0,
    num_training: int = 100,
    mode: str = "exponential",
    early_stop_threshold: float | None = 4.0,
    datamodule: Any = None,
) -> LRFinder:
    """Run the range test on `model`; the model's weights and the trainer are left as they were."""
    if not 0 < min_lr < max_lr:
        raise MisconfigurationException(
            f"lr_find needs 0 < min_lr < max_lr, got min_lr={min_lr}, max_lr={max_lr}."
        )
    finder = LRFinder(mode, min_lr, max_lr, num_training)
    with trial_fits(trainer, model, max_steps=num_training):
        capture = _LossCapture(model.training_step)
        recorder = _SearchRecorder(finder, capture, early_stop_threshold)
        replace_method(model, "training_step", capture)
        replace_method(
            model, "configure_optimizers", _searching_optimizers(model.configure_optimizers, finder)
        )
        trainer.callbacks = [recorder]
        reset_for_trial(trainer)
        trainer.fit(model, train_dataloader, val_dataloaders, datamodule=datamodule)
    finder.results = {"lr": recorder.lrs[: len(recorder.losses)], "loss": recorder.losses}
    return finder
