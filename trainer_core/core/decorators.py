"""Lightning 1.0's `auto_move_data`: a LightningModule method that moves its inputs first."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from trainer_core.core.module import LightningModule


def auto_move_data(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate `forward` (or any method) so that tensors among its arguments are moved to the
    device of the module's parameters, through the module's `transfer_batch_to_device` hook;
    on an object that is not a LightningModule the method runs unchanged."""

    @functools.wraps(fn)
    def moving_inputs(self: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self, LightningModule):
            args = self.transfer_batch_to_device(args, self.device)
            kwargs = self.transfer_batch_to_device(kwargs, self.device)
        return fn(self, *args, **kwargs)

    return moving_inputs
