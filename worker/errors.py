"""The worker's exception family."""


class RunyardWorkerError(Exception):
    """Base of every error the worker raises on purpose."""


class EntrypointError(RunyardWorkerError):
    """The spec names a module or class that cannot be imported on this worker."""


class ServerUnreachable(RunyardWorkerError):
    """The Runyard server did not answer; the call can be retried later."""


class ExportMismatch(RunyardWorkerError):
    """An exported model does not reproduce the eager model's output."""


class AttemptEnded(RunyardWorkerError):
    """The server refused the call for good (409): the attempt ended or was superseded."""
