"""The sandbox's exception family (under the worker's)."""

from worker.errors import RunyardWorkerError


class SandboxError(RunyardWorkerError):
    """A sandbox could not be prepared, started or torn down."""


class IsolationUnavailable(SandboxError):
    """This machine cannot sandbox runs, and RUNYARD_WORKER_ISOLATION is not 'none'."""
