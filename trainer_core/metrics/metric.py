"""`Metric`: the stateful base class of `trainer_core.metrics` (Lightning 1.0's `pl.metrics.Metric`).

A metric keeps named states registered with `add_state`. `update` accumulates into them,
`compute` turns them into a value (syncing across ranks first when torch.distributed runs with
more than one process) and then, as in Lightning 1.0.8, resets the states: the value stays
cached until the next `update`, and the next `compute()` covers only the updates after it.
`reset` puts the states back to their defaults. Calling the metric updates the accumulated state
and returns the value of the current batch alone, which is what a step log shows.
"""

import functools
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from trainer_core.metrics.distributed import GatherFn, StateValue, distributed_ready, sync_states
from trainer_core.metrics.errors import MetricDefinitionError
from trainer_core.metrics.functional.input_checks import to_label_predictions
from trainer_core.metrics.state_reductions import Reduction, resolve_reduction


def _tracked_update(update: Callable[..., None]) -> Callable[..., None]:
    """Wrap a subclass's `update` so that every call invalidates the cached `compute()` value."""

    @functools.wraps(update)
    def wrapped(self: "Metric", *args: Any, **kwargs: Any) -> None:
        if self._updating:  # a subclass calling super().update(): count the update once
            return update(self, *args, **kwargs)
        self._updating = True
        try:
            self._computed = None
            self._update_count += 1
            return update(self, *args, **kwargs)
        finally:
            self._updating = False

    return wrapped


def _synced_cached_compute(compute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a subclass's `compute` with cross-rank sync and caching until the next update."""

    @functools.wraps(compute)
    def wrapped(self: "Metric") -> Any:
        if self._computing:  # nested super().compute(): the outer call already synced
            return compute(self)
        if self._computed is not None:
            return self._computed
        if self._update_count == 0:
            warnings.warn(
                f"{type(self).__name__}.compute() was called before any update(); the value "
                "comes from the default states. Call the metric on a batch first.",
                UserWarning,
                stacklevel=2,
            )
        if self._to_sync and distributed_ready(self.process_group):
            self._sync_dist(self.dist_sync_fn)
        self._computing = True
        try:
            value = compute(self)
        finally:
            self._computing = False
        if isinstance(value, Tensor) and any(value is v for v in self._state_values().values()):
            # a state returned as is would keep changing with later updates
            value = value.clone()
        # Lightning 1.0.8: computing consumes the states, so the next compute() covers only
        # the updates made after this one
        self.reset()
        self._computed = value
        return value

    return wrapped


class Metric(nn.Module, ABC):
    """Base class: subclass it, call `add_state` in `__init__`, implement `update` and `compute`.

    Under torch.distributed, `compute()` is a collective: every rank must call it (a call on
    rank 0 alone waits for the others until the process group times out).

    Args:
        compute_on_step: when False, calling the metric only accumulates and returns None.
        dist_sync_on_step: sync states across ranks for the per-batch value of `forward` too
            (a collective on every step; costs time).
        process_group: the torch.distributed group to sync over (default: the world).
        dist_sync_fn: replaces the all-gather; called as `fn(tensor, group=...)` and must return
            one tensor per rank.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # wrapping at class creation (not per instance) keeps instances picklable
        if "update" in cls.__dict__:
            cls.update = _tracked_update(cls.__dict__["update"])  # type: ignore[method-assign]
        if "compute" in cls.__dict__:
            cls.compute = _synced_cached_compute(cls.__dict__["compute"])  # type: ignore[method-assign]

    def __init__(
        self,
        compute_on_step: bool = True,
        dist_sync_on_step: bool = False,
        process_group: Any = None,
        dist_sync_fn: GatherFn | None = None,
    ) -> None:
        super().__init__()
        self.compute_on_step = compute_on_step
        self.dist_sync_on_step = dist_sync_on_step
        self.process_group = process_group
        self.dist_sync_fn = dist_sync_fn
        self._defaults: dict[str, StateValue] = {}
        self._persistent: dict[str, bool] = {}
        self._reductions: dict[str, Reduction | None] = {}
        self._device = torch.device("cpu")
        self._forward_cache: Any = None
        self._computed: Any = None
        self._update_count = 0
        self._to_sync = True
        self._updating = False
        self._computing = False

    # ----------------------------------------------------------------- states

    def add_state(
        self,
        name: str,
        default: Tensor | list[Tensor],
        dist_reduce_fx: str | Reduction | None = None,
        persistent: bool = False,
    ) -> None:
        """Register a state that `reset()` restores and `compute()` syncs across ranks.

        `default` is a tensor or an empty list (rows appended by `update`). `dist_reduce_fx` is
        "sum", "mean", "cat", "max", "min", a callable over the stacked per-rank values, or None
        (keep them stacked). Persistent states are saved in `state_dict`.
        """
        if isinstance(default, list):
            if default:
                raise MetricDefinitionError(
                    f"state {name!r}: a list default must be empty, got {len(default)} items; "
                    "append rows in update() instead"
                )
        elif not isinstance(default, Tensor):
            raise MetricDefinitionError(
                f"state {name!r}: default must be a tensor or an empty list, got "
                f"{type(default).__name__}; wrap numbers with torch.tensor(...)"
            )
        if not name.isidentifier() or hasattr(type(self), name):
            raise MetricDefinitionError(
                f"state name {name!r} is not a free attribute name of {type(self).__name__}; "
                "pick another name"
            )
        self._reductions[name] = resolve_reduction(dist_reduce_fx)
        self._persistent[name] = persistent
        self._defaults[name] = (
            [] if isinstance(default, list) else default.detach().clone().to(self._device)
        )
        setattr(self, name, self._fresh_default(name))

    def persistent(self, mode: bool = False) -> None:
        """Include (True) or leave out (False) every state in `state_dict` from now on."""
        for name in self._persistent:
            self._persistent[name] = mode

    def _fresh_default(self, name: str) -> StateValue:
        default = self._defaults[name]
        # a copy each time: a reset metric must never share storage with its defaults
        return [] if isinstance(default, list) else default.clone()

    def _sync_dist(self, dist_sync_fn: GatherFn | None = None) -> None:
        """Replace every state named in `_reductions` by its value gathered from all ranks.

        A collective: every rank must call it. `dist_sync_fn` replaces the all-gather.
        """
        names = list(self._reductions)
        synced = sync_states(
            {name: getattr(self, name) for name in names},
            self._reductions,
            group=self.process_group,
            gather_fn=dist_sync_fn,
            device=self._device,
        )
        self._set_states(synced)

    def _state_values(self) -> dict[str, StateValue]:
        return {name: getattr(self, name) for name in self._defaults}

    def _set_states(self, values: dict[str, StateValue]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    # ----------------------------------------------------------------- the API

    @abstractmethod
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate a batch into the states."""

    @abstractmethod
    def compute(self) -> Any:
        """Turn the (synced) states into the metric value."""

    def reset(self) -> None:
        """Put every state back to a fresh copy of its default."""
        self._set_states({name: self._fresh_default(name) for name in self._defaults})
        self._update_count = 0
        self._computed = None
        self._forward_cache = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Accumulate the batch; return its value alone (also kept in `_forward_cache`)."""
        with torch.no_grad():
            self.update(*args, **kwargs)
        if not self.compute_on_step:
            self._forward_cache = None
            return None
        accumulated = self._state_values()
        update_count = self._update_count
        self._to_sync = self.dist_sync_on_step
        try:
            # score this batch on fresh states, then bring the accumulated ones back
            self.reset()
            self.update(*args, **kwargs)
            batch_value = self.compute()
        finally:
            self._set_states(accumulated)
            self._update_count = update_count
            self._to_sync = True
            self._computed = None
        self._forward_cache = batch_value
        return batch_value

    def _input_format(self, preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Predicted labels from logits/probabilities, as Lightning 1.0's Accuracy made them.

        Scores with one more dim than target are argmax-ed over dim 1; floating predictions of
        target's shape are thresholded at `self.threshold` (0.5 when the metric has none).
        """
        threshold = float(getattr(self, "threshold", 0.5))
        return to_label_predictions(preds, target, threshold=threshold)

    # ------------------------------------------------- device, dtype, persistence

    def _apply(self, fn: Callable[[Tensor], Tensor], *args: Any, **kwargs: Any) -> "Metric":
        """Move/cast states and defaults with the module (`.to()`, `.cuda()`, `.double()` ...)."""
        super()._apply(fn, *args, **kwargs)
        for name, value in self._state_values().items():
            setattr(self, name, fn(value) if isinstance(value, Tensor) else [fn(v) for v in value])
            default = self._defaults[name]
            if isinstance(default, Tensor):
                self._defaults[name] = fn(default)
        self._device = fn(torch.zeros(1, device=self._device)).device
        if isinstance(self._forward_cache, Tensor):
            self._forward_cache = fn(self._forward_cache)
        self._computed = None  # recomputed on the new device / dtype
        return self

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for name, value in self._state_values().items():
            if not self._persistent[name]:
                continue
            if isinstance(value, Tensor):
                destination[prefix + name] = value if keep_vars else value.detach()
            else:
                destination[prefix + name] = [v if keep_vars else v.detach() for v in value]

    def _load_from_state_dict(
        self,
        state_dict: Any,
        prefix: str,
        local_metadata: Any,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        own_keys = {prefix + name: name for name in self._defaults}
        for key, name in own_keys.items():
            if key in state_dict:
                value = state_dict[key]
                loaded = value.clone() if isinstance(value, Tensor) else [v.clone() for v in value]
                setattr(self, name, loaded)
                self._computed = None
                self._update_count = max(self._update_count, 1)  # loaded states carry data
            elif self._persistent[name] and strict:
                missing_keys.append(key)
        rest = {k: v for k, v in state_dict.items() if k not in own_keys}
        super()._load_from_state_dict(
            rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def extra_repr(self) -> str:
        return f"states={list(self._defaults)}"
