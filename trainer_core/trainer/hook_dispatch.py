"""The one hook dispatcher: callbacks' `name(trainer, module, *args)`, then the module's `name(*args)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class HookDispatch:
    """Mixed into `Trainer`; the loops call hooks through these two methods."""

    # --- hooks --------------------------------------------------------------------------------
    def _call_hook(self, name: str, *args: Any) -> Any:
        """Callbacks' `name(trainer, module, *args)`, then the module's `name(*args)`."""
        trainer = cast("Trainer", self)
        hooks = trainer._hooks
        assert hooks is not None
        module = trainer.model
        for method in hooks.callback_methods(name):
            method(trainer, module, *args)
        module_method = hooks.module_method(name)
        if module_method is not None:
            previous = module._current_fx_name  # type: ignore[union-attr]
            module._current_fx_name = name  # type: ignore[union-attr]
            try:
                return module_method(*args)
            finally:
                module._current_fx_name = previous  # type: ignore[union-attr]
        return None

    def _call_callbacks(self, name: str, *args: Any) -> None:
        trainer = cast("Trainer", self)
        assert trainer._hooks is not None
        for method in trainer._hooks.callback_methods(name):
            method(trainer, trainer.model, *args)
