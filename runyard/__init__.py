"""Runyard's client side and wire formats: the CLI, the Python SDK, and the pydantic models
(experiment spec, events, task payloads) that the server and the workers both import.

`runyard.init(...)` starts a run logged from this process (see `runyard.tracking`); the
tracking client is imported on first use, so the server and the workers, which import the
wire formats from here, do not load it."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from runyard.tracking import Run, init

__all__ = ["Run", "__version__", "init"]


def __getattr__(name: str) -> Any:
    if name in ("init", "Run"):
        import runyard.tracking

        return getattr(runyard.tracking, name)
    raise AttributeError(f"module 'runyard' has no attribute {name!r}")
