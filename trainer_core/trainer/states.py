"""`TrainerState`: what the Trainer is doing or last did (Lightning 1.0's `trainer.state`).

A `str` enum, so `trainer.state == "finished"` and `trainer.state == TrainerState.FINISHED`
both hold. trainer_core adds FAILED for a run that raised.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any


class TrainerState(StrEnum):
    INITIALIZING = "initializing"
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


def trainer_state(
    *, entering: TrainerState | None = None, exiting: TrainerState | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Trainer method: the state becomes `entering` while it runs and `exiting`
    after it (None: unchanged / restored). An INTERRUPTED state set inside it is kept."""

    def wrapper(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(getattr(self, "state", None), TrainerState):
                return fn(self, *args, **kwargs)
            before = self.state
            if entering is not None:
                self.state = entering
            result = fn(self, *args, **kwargs)
            if self.state != TrainerState.INTERRUPTED:
                self.state = exiting if exiting is not None else before
            return result

        return wrapped

    return wrapper
