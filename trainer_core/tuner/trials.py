"""Trial fits that leave no trace: `trial_fits(trainer, model)` snapshots the trainer's
attributes and the model's weights, sets the trainer up for quiet short fits, and puts
everything back afterwards, also when a trial raises."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer.loop_state import LoopState

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer

# model methods a search may replace on the instance for its trials
_PATCHABLE = ("configure_optimizers", "training_step")


@contextmanager
def trial_fits(trainer: Trainer, model: LightningModule, max_steps: int) -> Iterator[None]:
    """Quiet fits of at most `max_steps` steps inside; the trainer and weights as before after.

    The trainer's attributes are restored whole (a shallow snapshot of its `__dict__`), so a
    flag a trial changes cannot leak. What a fit changes in place instead of reassigning
    (containers, the loop position) is swapped for a copy before the trials, so the snapshot
    keeps the originals untouched.
    """
    if trainer.world_size > 1:
        raise MisconfigurationException(
            f"The tuner runs its trial fits in one process, but this trainer has "
            f"{trainer.world_size} (strategy {type(trainer.strategy).__name__}). Tune with a "
            "single-device Trainer, then fit with the distributed one using the values found."
        )
    saved = dict(vars(trainer))
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    own_methods = {name: vars(model)[name] for name in _PATCHABLE if name in vars(model)}
    for name, value in saved.items():
        if isinstance(value, dict | list | set | deque):
            setattr(trainer, name, copy.copy(value))
    trainer.loop_state = LoopState()
    # the trials are not the run: no logger, checkpoints, progress bar, summary or sanity check
    trainer.callbacks = []
    trainer.logger = None
    trainer.weights_summary = None
    trainer.num_sanity_val_steps = 0
    trainer.resume_from_checkpoint = None
    trainer.auto_lr_find = False  # a trial fit must not start another search
    trainer.auto_scale_batch_size = False
    trainer.max_steps = max_steps
    trainer.min_steps = None
    trainer.min_epochs = 0
    try:
        yield
    finally:
        vars(trainer).clear()
        vars(trainer).update(saved)
        with torch.no_grad():
            model.load_state_dict(weights)
        for name in _PATCHABLE:
            if name in own_methods:
                setattr(model, name, own_methods[name])
            elif name in vars(model):
                delattr(model, name)
        model.trainer = trainer


def reset_for_trial(trainer: Trainer) -> None:
    """Each trial fit starts at step 0 of epoch 0."""
    trainer.global_step = 0
    trainer.current_epoch = 0
    trainer.should_stop = False
    trainer.loop_state = LoopState()


def replace_method(model: Any, name: str, method: Any) -> None:
    """Shadow `model.name` on the instance for the trials (`trial_fits` removes it)."""
    assert name in _PATCHABLE, name
    setattr(model, name, method)
