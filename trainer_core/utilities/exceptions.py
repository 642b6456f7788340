"""Lightning 1.0's import path of `MisconfigurationException`."""

from trainer_core.exceptions import MisconfigurationException

__all__ = ["MisconfigurationException"]
