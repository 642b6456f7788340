"""The trainer's two hook entry points, both going through its one `HookDispatcher`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class HookDispatch:
    """Mixed into `Trainer` for the stage code outside the loops (setup, teardown, exceptions)."""

    def _call_hook(self, name: str, *args: Any) -> Any:
        """Callbacks' `name(trainer, module, *args)`, then the module's `name(*args)`."""
        hooks = cast("Trainer", self)._hooks
        assert hooks is not None
        return hooks.call(name, *args)

    def _call_callbacks(self, name: str, *args: Any) -> None:
        hooks = cast("Trainer", self)._hooks
        assert hooks is not None
        hooks.call_callbacks(name, *args)
