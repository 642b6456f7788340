"""`LightningModule.log`: the defaults by hook, and the value training_step logs every batch.

Where `self.log` is called from decides its defaults (Lightning 1.0's table): step-like hooks
log on_step, validation/test steps and the other hooks on_epoch, and the *_epoch_end methods
on_epoch only. Values go to the `ResultStore` of the loop that runs (`self._results`).

`self.log("loss", loss)` from training_step runs once per batch, and in its usual form (a
scalar tensor, 1.0's default flags, a name this epoch has logged before) `log` records it
itself, exactly as `ResultStore.log` would: the second Python call would cost more than the
recording (bench/trainer_instructions.py). Every other call goes to `ResultStore.log`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from trainer_core.exceptions import MisconfigurationException

__all__ = ["EPOCH_END_HOOKS", "STEP_HOOKS", "log"]

# hooks whose self.log defaults to on_step=True, on_epoch=False
STEP_HOOKS = frozenset(
    {
        "training_step",
        "training_step_end",
        "on_train_batch_start",
        "on_train_batch_end",
        "on_batch_start",
        "on_batch_end",
        "backward",
        "on_after_backward",
        "on_before_zero_grad",
        "optimizer_step",
        "optimizer_zero_grad",
    }
)
# hooks that may only log on_epoch
EPOCH_END_HOOKS = frozenset({"training_epoch_end", "validation_epoch_end", "test_epoch_end"})


def log(
    self: Any,
    name: str,
    value: Any,
    prog_bar: bool = False,
    logger: bool = True,
    on_step: bool | None = None,
    on_epoch: bool | None = None,
    reduce_fx: Callable[..., Any] = torch.mean,
    tbptt_reduce_fx: Callable[..., Any] = torch.mean,
    tbptt_pad_token: int = 0,
    enable_graph: bool = False,
    sync_dist: bool = False,
    sync_dist_op: str = "mean",
    sync_dist_group: Any = None,
) -> None:
    """Record `value` under `name` for callbacks, the progress bar and the logger.

    Defaults follow Lightning 1.0: from training_step, on_step=True/on_epoch=False; from
    validation/test steps and every *_epoch_end, on_step=False/on_epoch=True. Epoch values
    are the batch-size-weighted mean (or `reduce_fx` of the step values). A Metric object
    logs its last forward value per step and `compute()` (then `reset()`) per epoch.
    """
    store = self._results
    fx = self._current_fx_name
    if store is None or fx is None:
        return  # outside a loop there is nowhere to log to (Lightning 1.0 drops it too)
    if on_step is None and on_epoch is None and fx in STEP_HOOKS:
        if (
            type(value) is torch.Tensor
            and not (enable_graph or sync_dist)
            and store.dataloader_idx is None
        ):
            key = store.keys.get(name)
            if key is not None and key.on_step and value.dim() == 0:
                # ResultStore.log's own steps for a known step key and a scalar tensor
                key.step_seq = store.step_seq
                key.latest = value
                if value.requires_grad:
                    key.attached = True  # detached when read, or once training_step returns
                    store.attached.append(key)
                else:
                    key.attached = False
                return
        on_step, on_epoch = True, False
    else:
        on_step, on_epoch = _flags(fx, name, on_step, on_epoch)
    # positional: a keyword call costs several times more
    store.log(
        name,
        value,
        on_step,
        on_epoch,
        prog_bar,
        logger,
        reduce_fx,
        enable_graph,
        sync_dist,
        sync_dist_op,
    )


def _flags(fx: str, name: str, on_step: bool | None, on_epoch: bool | None) -> tuple[bool, bool]:
    """(on_step, on_epoch) of a `self.log(name, ...)` call from hook `fx`."""
    if fx in EPOCH_END_HOOKS:
        if on_step:
            raise MisconfigurationException(
                f"self.log({name!r}, on_step=True) is not allowed in {fx}; drop on_step."
            )
        if on_epoch is False:
            raise MisconfigurationException(
                f"self.log({name!r}, on_epoch=False) is not allowed in {fx}; drop on_epoch."
            )
        return False, True
    step_like = fx in STEP_HOOKS
    resolved = (
        step_like if on_step is None else on_step,
        (not step_like) if on_epoch is None else on_epoch,
    )
    if not any(resolved):
        raise MisconfigurationException(
            f"self.log({name!r}): on_step and on_epoch are both False; set one to True."
        )
    return resolved
