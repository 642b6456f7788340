"""Lightning 1.0's tuner: `trainer.tune(model)` with `auto_lr_find` / `auto_scale_batch_size`,
and `trainer.tuner.lr_find(model)` / `trainer.tuner.scale_batch_size(model)` called directly.

Every search runs short trial fits on the user's own model and trainer, then puts both back as
they were (weights, trainer flags, callbacks, logger, loop position), so the real `fit` that
follows starts from the same place it would have without tuning.
"""

from trainer_core.tuner.batch_size_scaling import scale_batch_size
from trainer_core.tuner.lr_finder import LRFinder, lr_find
from trainer_core.tuner.tuning import Tuner

_LRFinder = LRFinder  # Lightning 1.0's name

__all__ = ["LRFinder", "Tuner", "lr_find", "scale_batch_size"]
