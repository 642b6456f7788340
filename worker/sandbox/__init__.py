"""A sandbox for every run: own uid, PID and mount namespaces, cgroup limits, and a teardown
that leaves nothing behind. `SandboxPool.acquire()` gives a `SandboxProcess` (the interface
of worker.process_group.RunProcess); `enforce_isolation_policy` runs at worker start.

The names below are imported on first use: the supervisor (`python -m
worker.sandbox.supervisor`) starts inside every sandbox and must not pay for the worker side.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.sandbox.capabilities import (
        NO_ISOLATION_WARNING,
        Capabilities,
        enforce_isolation_policy,
        probe,
    )
    from worker.sandbox.config import SandboxConfig
    from worker.sandbox.errors import IsolationUnavailable, SandboxError
    from worker.sandbox.exits import Limits
    from worker.sandbox.pool import SandboxPool
    from worker.sandbox.process import SandboxProcess

_EXPORTS = {
    "NO_ISOLATION_WARNING": "capabilities",
    "Capabilities": "capabilities",
    "enforce_isolation_policy": "capabilities",
    "probe": "capabilities",
    "SandboxConfig": "config",
    "IsolationUnavailable": "errors",
    "SandboxError": "errors",
    "SandboxPool": "pool",
    "Limits": "exits",
    "SandboxProcess": "process",
}
__all__ = [
    "NO_ISOLATION_WARNING",
    "Capabilities",
    "IsolationUnavailable",
    "Limits",
    "SandboxConfig",
    "SandboxError",
    "SandboxPool",
    "SandboxProcess",
    "enforce_isolation_policy",
    "probe",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'worker.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"worker.sandbox.{_EXPORTS[name]}"), name)
