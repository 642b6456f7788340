"""Precision plugins: what `Trainer(precision=...)` changes in the step.

32 is plain float32. 16 runs the step under CUDA autocast (float16) with a GradScaler that
scales the loss before backward and unscales before clipping and stepping. "bf16" runs under
autocast with bfloat16 on CUDA or CPU and needs no scaler (bfloat16 keeps float32's range).
"""

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import torch

from trainer_core.exceptions import MisconfigurationException


class PrecisionPlugin:
    """Full float32 precision: every method is a pass-through. Subclasses change the step."""

    precision: int | str = 32
    uses_scaler = False

    def autocast(self) -> AbstractContextManager[None]:
        # one shared nullcontext (stateless, reentrant): entering it costs a third of a
        # generator-based context manager, and every training step enters it
        return _FULL_PRECISION

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss

    def unscale_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true scale; called before clipping and stepping."""

    def step(
        self, optimizer: torch.optim.Optimizer, closure: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        """`optimizer.step`, with `closure=` when there is one; `args`/`kwargs` go with it."""
        step: Any = optimizer.step  # a subclass's step may take more than torch's signature
        if closure is None:
            return step(*args, **kwargs)
        if (
            getattr(closure, "precomputed", False)
            and not (args or kwargs)
            and calls_closure_once(optimizer)
        ):
            # this batch's loss is already computed: torch's own optimizers (LBFGS aside) would
            # call the closure once, under enable_grad, only to read it back (~5 us a step)
            loss = closure()
            step()
            return loss
        return step(*args, closure=closure, **kwargs)

    def after_step(self) -> None:
        """Called once per optimizer step after the user's `optimizer_step` hook."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; nothing to restore for plain precision."""


_FULL_PRECISION = contextlib.nullcontext()


def calls_closure_once(optimizer: torch.optim.Optimizer) -> bool:
    """True for torch's built-in optimizers that evaluate a closure once, before updating
    (all but LBFGS); a subclass's own `step`, or any other optimizer, may call it again."""
    step_module = getattr(type(optimizer).step, "__module__", "") or ""
    return step_module.startswith("torch.optim.") and not isinstance(optimizer, torch.optim.LBFGS)


class AutocastPrecisionPlugin(PrecisionPlugin):
    """Mixed precision through `torch.autocast`; float16 also scales the loss."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device_type = device.type
        self.dtype = dtype
        self.precision = 16 if dtype == torch.float16 else "bf16"
        self.uses_scaler = dtype == torch.float16
        self.scaler = torch.amp.GradScaler(self.device_type) if self.uses_scaler else None
        # unscale_ may run only once per step; remember which optimizers it already saw
        self._unscaled: set[int] = set()

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        with torch.autocast(self.device_type, dtype=self.dtype):
            yield

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return self.scaler.scale(loss) if self.scaler is not None else loss

    def unscale_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None and id(optimizer) not in self._unscaled:
            self.scaler.unscale_(optimizer)
            self._unscaled.add(id(optimizer))

    def step(
        self, optimizer: torch.optim.Optimizer, closure: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if self.scaler is None:
            return super().step(optimizer, closure, *args, **kwargs)
        if closure is not None:
            closure()  # the scaler cannot pass a closure through; evaluate it first
        return self.scaler.step(optimizer, *args, **kwargs)

    def after_step(self) -> None:
        if self.scaler is not None:
            self.scaler.update()
            self._unscaled.clear()

    def state_dict(self) -> dict[str, Any]:
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])


class ScaledOptimizer:
    """An optimizer whose `step()` goes through the precision plugin (the loss scaler skips
    steps with inf/nan gradients); everything else is the wrapped optimizer's."""

    def __init__(self, optimizer: torch.optim.Optimizer, precision: PrecisionPlugin) -> None:
        self.optimizer = optimizer
        self.precision = precision
        self.stepped = False

    def step(self, closure: Any = None) -> Any:
        self.stepped = True
        return self.precision.step(self.optimizer, closure)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def make_precision_plugin(precision: int | str, device: torch.device) -> PrecisionPlugin:
    """The plugin for a `Trainer(precision=...)` value on `device`; refuses what cannot run."""
    key = str(precision).lower()
    if key in ("32", "32-true"):
        return PrecisionPlugin()
    if key in ("16", "16-mixed"):
        if device.type != "cuda":
            raise MisconfigurationException(
                "precision=16 needs a CUDA device (float16 autocast with loss scaling). "
                "On CPU use precision='bf16' or precision=32."
            )
        return AutocastPrecisionPlugin(device, torch.float16)
    if key in ("bf16", "bf16-mixed"):
        return AutocastPrecisionPlugin(device, torch.bfloat16)
    raise MisconfigurationException(
        f"precision={precision!r} is not supported. Use 32, 16 (CUDA only) or 'bf16'."
    )
