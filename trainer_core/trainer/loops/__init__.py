"""The training and evaluation loops, one class per level (Lightning 2's loop design):

    FitLoop                    epochs: reloads, stop requests, early-stop / min / max rules
      TrainingEpochLoop        batches of one epoch: batch hooks, logging, schedulers, val
        AutomaticOptimization  one batch (or tbptt split): per optimizer step, backward, step
        ManualOptimization     one batch under `automatic_optimization = False`
        EvaluationLoop         validation inside the epoch (and the sanity check)
    EvaluationLoop             `trainer.test()`

Where a loop is lives in `trainer.loop_state` (`LoopState`, saved whole in every checkpoint),
hooks go through `trainer_core.trainer.hooks.HookDispatcher`, and the `Trainer` only builds
these objects and calls `trainer.fit_loop.run()`.
"""

from trainer_core.trainer.loops.automatic import AutomaticOptimization
from trainer_core.trainer.loops.evaluation import EvaluationLoop
from trainer_core.trainer.loops.fit import FitLoop
from trainer_core.trainer.loops.manual import ManualOptimization
from trainer_core.trainer.loops.training_epoch import TrainingEpochLoop

__all__ = [
    "AutomaticOptimization",
    "EvaluationLoop",
    "FitLoop",
    "ManualOptimization",
    "TrainingEpochLoop",
]
