"""The one exception family of trainer_core.

Every error trainer_core raises on purpose derives from `TrainerCoreError`, so callers (the
Runyard worker, user scripts) can tell "the trainer refused this" from a bug in user code, which
propagates unchanged.
"""


class TrainerCoreError(Exception):
    """Base of every error trainer_core raises on purpose."""


class MisconfigurationException(TrainerCoreError, ValueError):
    """A flag, hook return value or call that cannot work; the message says what to change.

    Named as in Lightning 1.0 so user code that catches it keeps working.
    """


class CheckpointMismatchError(MisconfigurationException, RuntimeError):
    """A checkpoint that does not belong to the model or trainer it is being loaded into.

    Also a RuntimeError, which is what `torch.nn.Module.load_state_dict` raises and what 1.0
    code catches around `load_from_checkpoint`."""
