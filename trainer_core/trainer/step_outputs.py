"""What a training step returns: the loss it holds, the detached copy kept for epoch-end and
batch-end hooks, 0.9-style 'log'/'progress_bar' dicts, and the closure the optimizer_step hook gets."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.hooks import set_current_hook
from trainer_core.trainer.logged_results import ResultStore

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class StepClosure:
    """The `optimizer_closure` the optimizer_step hook gets (Lightning 1.0): calling it
    evaluates the batch's loss with fresh gradients. The loop has already run this batch's
    forward and backward before the hook, so the first call hands back that loss and computes
    nothing (an SGD step costs one backward, as in 1.0); optimizers that evaluate again
    (LBFGS's line search) re-run training_step and backward from zeroed gradients. One object
    per loop, re-armed for each step."""

    def __init__(self, trainer: Trainer, accumulate: int) -> None:
        self.trainer = trainer
        self.accumulate = accumulate
        self.batch: Any = None
        self.batch_idx = 0
        self.opt_idx: int | None = None
        self.pending: torch.Tensor | None = None

    def arm(self, batch: Any, batch_idx: int, opt_idx: int | None, loss: torch.Tensor) -> None:
        self.batch, self.batch_idx, self.opt_idx = batch, batch_idx, opt_idx
        self.pending = loss.detach()

    @property
    def precomputed(self) -> bool:
        """The next call hands back the loss the loop already computed (evaluates nothing)."""
        return self.pending is not None

    def __call__(self) -> torch.Tensor:
        if self.pending is not None:
            loss, self.pending = self.pending, None
            return loss
        trainer = self.trainer
        module = trainer.lightning_module
        opt_idx = self.opt_idx or 0
        optimizer = trainer.optimizers[opt_idx]
        optimizer.zero_grad()
        with torch.enable_grad():
            set_current_hook(module, "training_step")
            out = (
                trainer.strategy.training_step(self.batch, self.batch_idx, self.opt_idx)
                if len(trainer.optimizers) > 1
                else trainer.strategy.training_step(self.batch, self.batch_idx)
            )
            set_current_hook(module, None)
            loss = out["loss"] if isinstance(out, dict) else out
            scale = self.accumulate
            trainer.strategy.backward(loss / scale if scale > 1 else loss, optimizer, opt_idx)
        if trainer.gradient_clip_val > 0:
            trainer.strategy.clip_gradients(optimizer, trainer.gradient_clip_val)
        return loss.detach()


def extract_loss(out: Any, store: ResultStore, module: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        loss = out
    elif isinstance(out, dict):
        if "log" in out or "progress_bar" in out:
            _legacy_result_dict(out, module)
        _legacy_callback_keys(out, module)
        if "loss" not in out:
            raise MisconfigurationException(
                f"training_step returned a dict without 'loss' (keys: {sorted(out)}); add 'loss': <tensor> "
                "(other keys go to training_epoch_end)."
            )
        loss = out["loss"]
        if not isinstance(loss, torch.Tensor):
            raise MisconfigurationException(
                f"training_step returned 'loss' of type {type(loss).__name__}; return a tensor."
            )
    elif out is None:
        warnings.warn("training_step returned None; skipping this batch.", stacklevel=3)
        return None
    else:
        raise MisconfigurationException(
            f"training_step returned {type(out).__name__}; under automatic optimization return the loss tensor, a dict "
            "with 'loss', or None to skip the batch."
        )
    if not loss.requires_grad and torch.is_grad_enabled():
        raise MisconfigurationException(
            "training_step returned a loss that is not attached to the graph (no grad_fn): do not detach it, call "
            ".item() on it or compute it under torch.no_grad()."
        )
    return loss


def _legacy_result_dict(out: dict[str, Any], module: Any) -> None:
    warnings.warn(
        "Returning 'log'/'progress_bar' dicts from training_step is the deprecated 0.9 style; use self.log().",
        DeprecationWarning,
        stacklevel=4,
    )
    set_current_hook(module, "training_step")
    for name, value in (out.get("log") or {}).items():
        module.log(name, value, prog_bar=False, logger=True)
    for name, value in (out.get("progress_bar") or {}).items():
        module.log(name, value, prog_bar=True, logger=False)
    set_current_hook(module, None)


def _legacy_callback_keys(out: dict[str, Any], module: Any) -> None:
    """Lightning 1.0: the other scalar keys of a training_step dict become callback metrics
    (what EarlyStopping / ModelCheckpoint can monitor), for this step."""
    set_current_hook(module, "training_step")
    for name, value in out.items():
        if name not in _RESERVED_KEYS and _is_scalar(value):
            module.log(
                name, value.detach() if isinstance(value, torch.Tensor) else value, logger=False
            )
    set_current_hook(module, None)


_RESERVED_KEYS = ("loss", "log", "progress_bar", "hiddens")


def _is_scalar(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return isinstance(value, int | float) and not isinstance(value, bool)


def detached_output(out: Any, loss: torch.Tensor | None) -> Any:
    if isinstance(out, torch.Tensor):
        return {"loss": out.detach()}
    if isinstance(out, dict):
        kept = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in out.items()}
        if loss is not None:
            kept["loss"] = loss.detach()
        return kept
    return out


def step_result(kept: Any) -> Any:
    """One training step's output as Lightning 1.0's hooks see it: the loss under 'minimize'
    (and 'loss'), the step's other keys under 'extra' and at the top level."""
    if not isinstance(kept, dict):
        return kept
    extra = {k: v for k, v in kept.items() if k != "loss"}
    result: dict[str, Any] = dict(extra)
    result["extra"] = extra
    if "loss" in kept:
        result["minimize"] = kept["loss"]
        result["loss"] = kept["loss"]
    return result


@dataclass
class EpochOutputs:
    """What one training epoch keeps of its steps: the list `training_epoch_end` receives and
    Lightning 1.0's per-optimizer view (`outputs[optimizer_idx][batch][tbptt_split]`) that
    `on_train_epoch_end` receives; `gather` is False when no hook reads them."""

    gather: bool
    n_optimizers: int
    for_epoch_end: list[Any] = field(default_factory=list)
    epoch_end_optimizers: list[int] = field(default_factory=list)  # for_epoch_end's opt_idx
    by_optimizer: list[list[Any]] = field(default_factory=list)
    usable_losses: int = 0  # steps whose output held a loss (automatic optimization)

    def __post_init__(self) -> None:
        self.by_optimizer = [[] for _ in range(max(1, self.n_optimizers))]

    def add_batch(self, kept: list[tuple[int, Any]]) -> list[Any]:
        """Keep one batch's detached outputs: (optimizer index, its output, or under truncated
        BPTT the list of its windows' outputs; None where nothing was usable). Returns
        on_train_batch_end's `outputs`: per optimizer, the list of splits."""
        batch_outputs = []
        for opt_idx, item in kept:
            if item is None:
                continue
            windows = item if isinstance(item, list) else [item]
            windows = [w for w in windows if w is not None]
            if not windows:
                continue
            # training_epoch_end gets one output per batch, or per-window lists with tbptt
            self.for_epoch_end.append(item if not isinstance(item, list) else windows)
            self.epoch_end_optimizers.append(opt_idx)
            splits = [step_result(w) for w in windows]
            self.by_optimizer[opt_idx].append(splits)
            batch_outputs.append(splits)
        return batch_outputs

    def training_epoch_end_input(self, automatic: bool) -> list[Any]:
        """What `training_epoch_end` receives: the batches' outputs in order, or with several
        optimizers under automatic optimization one such list per optimizer (Lightning 1.0's
        `outputs[optimizer_idx][batch]`)."""
        if not automatic or self.n_optimizers < 2:
            return self.for_epoch_end
        grouped: list[list[Any]] = [[] for _ in range(self.n_optimizers)]
        for opt_idx, item in zip(self.epoch_end_optimizers, self.for_epoch_end, strict=True):
            grouped[opt_idx].append(item)
        return grouped
