"""Storage behind `self.log`: one `ResultStore` per loop run (a train epoch, a validation run).

Hot-path design: `log()` only updates a per-key record (the latest value, appended to a list
when it is aggregated over the epoch); nothing is converted, synchronised or copied per step.
`LightningModule.log` (core/module_log.py) makes that update itself for training_step's usual
call, a scalar tensor under a known step key.
A step value logged from the graph (the loss, usually) is even kept as it is and detached
only when read (`LoggedKey.current`): the detach would cost more than the rest of `log()`,
and most steps' values are never read. Only the loss itself stays attached past its step:
the training loop detaches every other such value as soon as training_step returns
(`detach_all_but`), before backward, so a side value's graph (activations and all) never
lives through backward, as in 1.0; the loss's graph holds no activations once backward has
run, and every on_step value is read, hence detached, when the epoch ends.
Dicts for callbacks, the progress bar and the loggers are built only when someone reads them
(`step_*` methods) and epoch values only once, at the end (`epoch_values`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from trainer_core.core.metric_objects import is_metric_object
from trainer_core.exceptions import MisconfigurationException

__all__ = ["LoggedKey", "ResultStore", "extract_batch_size", "is_metric_object"]


def extract_batch_size(batch: Any) -> int:
    """Size of dim 0 of the first tensor found in the batch (1 when there is none)."""
    if isinstance(batch, torch.Tensor):
        return batch.size(0) if batch.dim() > 0 else 1
    if isinstance(batch, dict):
        for value in batch.values():
            return extract_batch_size(value)
        return 1
    if isinstance(batch, list | tuple):
        for value in batch:
            return extract_batch_size(value)
        return 1
    return 1


class LoggedKey:
    """Everything recorded for one `self.log` name during one loop run."""

    __slots__ = (
        "attached",
        "batch_sizes",
        "dataloader_suffix",
        "latest",
        "logger",
        "metric",
        "name",
        "on_epoch",
        "on_step",
        "prog_bar",
        "reduce_fx",
        "step_seq",
        "values",
    )

    def __init__(
        self,
        name: str,
        on_step: bool,
        on_epoch: bool,
        prog_bar: bool,
        logger: bool,
        reduce_fx: Callable[..., Any],
    ) -> None:
        self.name = name
        self.on_step = on_step
        self.on_epoch = on_epoch
        self.prog_bar = prog_bar
        self.logger = logger
        self.reduce_fx = reduce_fx
        self.latest: torch.Tensor | None = None
        self.attached = False  # `latest` is still the logged tensor, graph and all
        self.metric: Any = None
        self.step_seq = -1
        self.values: list[torch.Tensor] = []
        self.batch_sizes: list[int] = []
        self.dataloader_suffix = ""

    def current(self) -> torch.Tensor | None:
        """The latest value, detached from the step's graph the first time it is read."""
        if self.attached:
            self.latest = self.latest.detach()  # type: ignore[union-attr]
            self.attached = False
        return self.latest

    @property
    def step_key(self) -> str:
        return f"{self.name}_step" if self.on_step and self.on_epoch else self.name

    @property
    def epoch_key(self) -> str:
        return f"{self.name}_epoch" if self.on_step and self.on_epoch else self.name

    def epoch_value(self) -> torch.Tensor | None:
        if self.metric is not None:
            value = self.metric.compute()
            self.metric.reset()
            return value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        if not self.values:
            return None
        stacked = torch.stack([v.float() for v in self.values])
        if self.reduce_fx is torch.mean:
            # the epoch mean of step values is weighted by each step's batch size
            weights = torch.tensor(self.batch_sizes, dtype=stacked.dtype, device=stacked.device)
            return (stacked * weights).sum() / weights.sum()
        return self.reduce_fx(stacked)


_REDUCE_NAMES: dict[Any, str] = {
    torch.mean: "mean",
    torch.sum: "sum",
    torch.max: "max",
    torch.min: "min",
}
_REDUCE_FNS = {name: fn for fn, name in _REDUCE_NAMES.items()}


class ResultStore:
    """The values logged during one loop run, keyed by the name passed to `self.log`."""

    def __init__(
        self, stage: str, reduce_across: Callable[[torch.Tensor, str], torch.Tensor]
    ) -> None:
        self.stage = stage  # "train", "validation", "test"
        self.keys: dict[str, LoggedKey] = {}
        self.step_seq = 0  # bumped by the loop once per batch
        self.batch: Any = None  # the current batch, for the batch size of epoch means
        self._batch_size: int | None = None
        self.dataloader_idx: int | None = None  # set with several val/test loaders
        self._reduce_across = reduce_across
        self._reduced: set[str] = set()  # keys whose epoch value was already taken
        self.attached: list[LoggedKey] = []  # keys whose value this step kept attached

    def new_batch(self, batch: Any) -> None:
        self.step_seq += 1
        self.batch = batch
        self._batch_size = None

    @property
    def batch_size(self) -> int:
        if self._batch_size is None:
            self._batch_size = extract_batch_size(self.batch)
        return self._batch_size

    def log(
        self,
        name: str,
        value: Any,
        on_step: bool,
        on_epoch: bool,
        prog_bar: bool,
        logger: bool,
        reduce_fx: Callable[..., Any],
        enable_graph: bool,
        sync_dist: bool,
        sync_dist_op: str,
    ) -> None:
        store_name = (
            name if self.dataloader_idx is None else f"{name}/dataloader_idx_{self.dataloader_idx}"
        )
        key = self.keys.get(store_name)
        if key is None:
            key = LoggedKey(name, on_step, on_epoch, prog_bar, logger, reduce_fx)
            if self.dataloader_idx is not None:
                key.name = store_name
            self.keys[store_name] = key
        if isinstance(value, torch.Tensor):
            if value.dim() == 0:  # the usual case, a loss: no reshape (a view costs ~3 us)
                tensor = value  # detached below, or when read (see the module docstring)
            elif value.numel() != 1:
                raise MisconfigurationException(
                    f"self.log({name!r}, ...) got a tensor of shape {tuple(value.shape)}; log one number "
                    "(e.g. value.mean()) or a Metric object."
                )
            else:
                tensor = (value if enable_graph else value.detach()).reshape(())
        elif is_metric_object(value):
            key.metric = value
            cached = getattr(value, "_forward_cache", None)
            if cached is None:
                key.step_seq = -1 if key.step_seq != self.step_seq else key.step_seq
                return
            tensor = (
                cached.detach() if isinstance(cached, torch.Tensor) else torch.as_tensor(cached)
            )
            key.latest = tensor
            key.attached = False
            key.step_seq = self.step_seq
            return
        elif isinstance(value, bool | int | float):
            tensor = torch.tensor(float(value))
        else:
            try:
                tensor = torch.as_tensor(value, dtype=torch.float32).reshape(())
            except Exception as exc:
                raise MisconfigurationException(
                    f"self.log({name!r}, ...) got {type(value).__name__}; log a number, a scalar tensor "
                    "or a Metric object (use log_dict for dicts)."
                ) from exc
        if sync_dist:
            tensor = self._reduce_across(tensor, sync_dist_op)
        key.step_seq = self.step_seq
        if not enable_graph and tensor.requires_grad:
            if key.on_step and not on_epoch:  # read (so detached) by the epoch's end at the latest
                key.latest = tensor
                key.attached = True
                self.attached.append(key)
                return
            tensor = tensor.detach()
        key.latest = tensor
        key.attached = False
        if on_epoch:
            key.values.append(tensor)
            key.batch_sizes.append(self.batch_size)

    def detach_all_but(self, loss: torch.Tensor | None) -> None:
        """Detach the values this step kept attached, except `loss` (what training_step
        returned), whose graph backward is about to free anyway."""
        for key in self.attached:
            if key.latest is not loss:
                key.current()
        self.attached.clear()

    # --- reading back ---------------------------------------------------------------------
    def step_metrics(
        self, *, only_fresh: bool, for_logger: bool = False, for_prog_bar: bool = False
    ) -> dict[str, torch.Tensor]:
        """Step values (keys logged with on_step); `only_fresh` keeps only this batch's."""
        out: dict[str, torch.Tensor] = {}
        for key in self.keys.values():
            if not key.on_step or (only_fresh and key.step_seq != self.step_seq):
                continue
            if (for_logger and not key.logger) or (for_prog_bar and not key.prog_bar):
                continue
            value = key.current()
            if value is not None:
                out[key.step_key] = value
        return out

    def callback_step_metrics(self, step_names: bool = True) -> dict[str, torch.Tensor]:
        """Latest step values under both their `_step` and plain names (what callbacks read);
        `step_names=False` leaves out keys logged on step and epoch: their epoch value stands
        for them (Lightning 1.0 keeps no eval step value such as `val_loss_step` for callbacks)."""
        out: dict[str, torch.Tensor] = {}
        for key in self.keys.values():
            if not key.on_step or (key.on_epoch and not step_names):
                continue
            value = key.current()
            if value is not None:
                out[key.step_key] = out[key.name] = value
        return out

    def epoch_values(self) -> list[tuple[LoggedKey, torch.Tensor]]:
        """Each on_epoch key with its reduced epoch value; resets logged metric objects.

        A key is reduced once: a second call returns only keys logged since the first (by
        epoch-end hooks such as `on_validation_epoch_end`)."""
        out: list[tuple[LoggedKey, torch.Tensor]] = []
        for name, key in self.keys.items():
            if name in self._reduced:
                continue
            self._reduced.add(name)
            if key.on_epoch:
                value = key.epoch_value()
                if value is not None:
                    out.append((key, value))
            elif key.metric is not None:
                key.metric.reset()  # state must not pile up across epochs
        return out

    # --- saving inside an epoch (mid-epoch checkpoints) -----------------------------------
    def state_dict(self, module: torch.nn.Module) -> dict[str, Any]:
        """Every key's record as plain values; metric objects by their module path and state."""
        paths = {id(sub): name for name, sub in module.named_modules()}
        keys: dict[str, Any] = {}
        for store_name, key in self.keys.items():
            record: dict[str, Any] = {
                "name": key.name,
                "flags": [key.on_step, key.on_epoch, key.prog_bar, key.logger],
                "reduce_fx": _REDUCE_NAMES.get(key.reduce_fx, "mean"),
                "latest": key.current(),
                "step_seq": key.step_seq,
                "values": list(key.values),
                "batch_sizes": list(key.batch_sizes),
            }
            if key.metric is not None and id(key.metric) in paths:
                record["metric_path"] = paths[id(key.metric)]
                record["metric_state"] = {
                    attr: getattr(key.metric, attr) for attr in key.metric._defaults
                }
            keys[store_name] = record
        return {"step_seq": self.step_seq, "keys": keys}

    def load_state_dict(self, state: dict[str, Any], module: torch.nn.Module) -> None:
        modules = dict(module.named_modules())
        self.step_seq = int(state.get("step_seq", 0))
        for store_name, record in state.get("keys", {}).items():
            on_step, on_epoch, prog_bar, logger = record["flags"]
            key = LoggedKey(
                record["name"],
                on_step,
                on_epoch,
                prog_bar,
                logger,
                _REDUCE_FNS[record["reduce_fx"]],
            )
            key.latest = record["latest"]
            key.step_seq = int(record["step_seq"])
            key.values = list(record["values"])
            key.batch_sizes = [int(b) for b in record["batch_sizes"]]
            metric = modules.get(record.get("metric_path", ""))
            if "metric_path" in record and metric is not None:
                for attr, value in record["metric_state"].items():
                    setattr(metric, attr, value)
                key.metric = metric
            self.keys[store_name] = key
