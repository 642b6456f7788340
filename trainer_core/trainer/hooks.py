"""Calling hooks by name: callbacks first, then the LightningModule (Lightning's order).

`HookTable` is built once per `fit`/`test` and holds, for each hook, only the bound methods of
callbacks that override it and the module's method if overridden, so the per-batch loop
calls nothing that would do nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.model_checkpoint import ModelCheckpoint


def is_overridden(name: str, obj: Any, base: type) -> bool:
    """True when `type(obj)` defines `name` differently from `base`."""
    impl = getattr(type(obj), name, None)
    base_impl = getattr(base, name, None)
    if impl is None or base_impl is None:
        return impl is not None
    return impl is not base_impl


def positional_arity(fn: Callable[..., Any]) -> int:
    """Number of positional parameters of a bound method (inf-like 99 with *args)."""
    count = 0
    for param in inspect.signature(fn).parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return 99
        if param.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


class HookTable:
    """Per-hook lists of callback methods, and the module's overridden hooks."""

    def __init__(self, callbacks: list[Callback], module: Any, module_base: type) -> None:
        # checkpoints are written after every other callback's hook, so a saved EarlyStopping
        # (or any callback) state already includes this validation: exact resume rests on it
        self._callbacks = sorted(callbacks, key=lambda cb: isinstance(cb, ModelCheckpoint))
        self._module = module
        self._module_base = module_base
        self._cb_cache: dict[str, list[Callable[..., Any]]] = {}
        self._module_cache: dict[str, Callable[..., Any] | None] = {}

    def callback_methods(self, name: str) -> list[Callable[..., Any]]:
        methods = self._cb_cache.get(name)
        if methods is None:
            methods = [
                getattr(cb, name) for cb in self._callbacks if is_overridden(name, cb, Callback)
            ]
            self._cb_cache[name] = methods
        return methods

    def module_method(self, name: str) -> Callable[..., Any] | None:
        if name not in self._module_cache:
            overridden = is_overridden(name, self._module, self._module_base) or name in vars(
                self._module
            )
            self._module_cache[name] = getattr(self._module, name) if overridden else None
        return self._module_cache[name]


class HookDispatcher:
    """The one way the loops call hooks: callbacks' `name(trainer, module, *args)` first, then
    the module's `name(*args)` (Lightning's order).

    `call` is for hooks that run once per stage or epoch. `batch_hook` prepares a per-batch
    hook once per epoch: one callable doing the same, or None when nothing overrides the hook,
    so the batch loop pays nothing for hooks nobody implements.
    """

    def __init__(self, trainer: Any, callbacks: list[Callback], module: Any, module_base: type):
        self.trainer = trainer
        self.module = module
        self.table = HookTable(callbacks, module, module_base)

    def callback_methods(self, name: str) -> list[Callable[..., Any]]:
        return self.table.callback_methods(name)

    def module_method(self, name: str) -> Callable[..., Any] | None:
        return self.table.module_method(name)

    def call(self, name: str, *args: Any) -> Any:
        """Run `name` now; the module's method runs with `name` as its current hook, so its
        `self.log` calls are checked against (and attributed to) that hook."""
        trainer, module = self.trainer, self.module
        for method in self.table.callback_methods(name):
            method(trainer, module, *args)
        module_method = self.table.module_method(name)
        if module_method is None:
            return None
        return _as_current_hook(module, name, module_method, args)

    def call_callbacks(self, name: str, *args: Any) -> None:
        trainer, module = self.trainer, self.module
        for method in self.table.callback_methods(name):
            method(trainer, module, *args)

    def batch_hook(self, name: str, module_too: bool = True) -> Callable[..., Any] | None:
        """A callable running `name` for one batch (returning the module's result), or None.
        `module_too=False` for hooks Lightning 1.0 calls on callbacks only. As with `call`,
        the module's method runs with `name` as its current hook, so its `self.log` counts
        (Lightning 1.0.8 dropped all but on_after_backward's: a deliberate difference)."""
        callbacks = self.table.callback_methods(name)
        module_method = self.table.module_method(name) if module_too else None
        if not callbacks and module_method is None:
            return None
        trainer, module = self.trainer, self.module

        def run(*args: Any) -> Any:
            for method in callbacks:
                method(trainer, module, *args)
            if module_method is None:
                return None
            return _as_current_hook(module, name, module_method, args)

        return run


def set_current_hook(module: Any, name: str | None) -> None:
    """Name the hook or step the module runs now (None: none), which `self.log` reads.

    object.__setattr__: the name is a plain str attribute, and nn.Module.__setattr__'s checks
    for parameters, buffers and submodules (about 3 us) cost more than many hooks do."""
    object.__setattr__(module, "_current_fx_name", name)


def _as_current_hook(
    module: Any, name: str, method: Callable[..., Any], args: tuple[Any, ...]
) -> Any:
    """`method(*args)` with `name` as the module's current hook, the previous one restored."""
    previous = module._current_fx_name
    set_current_hook(module, name)
    try:
        return method(*args)
    finally:
        set_current_hook(module, previous)
