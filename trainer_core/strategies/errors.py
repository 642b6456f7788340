"""The error a distributed run raises when one of its ranks fails."""

from trainer_core.exceptions import TrainerCoreError


class DistributedRunError(TrainerCoreError, RuntimeError):
    """A rank of a distributed run raised or died; the message names the rank and holds its
    traceback (or the signal that killed it). The other ranks have been stopped."""
