"""Lightning 1.0's `utilities.parsing` helpers that user code and hyperparameter saving use."""

import pickle
from typing import Any

from trainer_core.attribute_dict import AttributeDict


def is_picklable(obj: Any) -> bool:
    """Whether `obj` survives pickling (what `save_hyperparameters` can store in a checkpoint)."""
    try:
        pickle.dumps(obj)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


__all__ = ["AttributeDict", "is_picklable"]
