"""The training loop's position, in one object that saves and restores itself.

What a checkpoint needs besides weights and optimizers to continue a run exactly where it
stopped, at an epoch end or at any step boundary inside an epoch:
- `batches_done`: batches of the current epoch already trained (0 at an epoch start);
- `epoch_start_rng`: the RNG states as the epoch's dataloader iterator was created, so a
  resumed run re-creates the same shuffle order and skips the batches already trained;
- `total_batch_idx` (optimizer frequencies count it), `step_increment_pending` (validation
  runs before `global_step` counts the batch it follows, Lightning 1.0's order) and
  `epoch_schedulers_pending` (a checkpoint taken before the epoch-end scheduler step).

`StopRequest` is how a run is asked, from a signal handler or another thread, to checkpoint
at the next step boundary and stop (see `Trainer.request_checkpoint_and_stop`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoopState:
    batches_done: int = 0
    total_batch_idx: int = 0
    step_increment_pending: bool = False
    epoch_schedulers_pending: bool = False
    epoch_start_rng: dict[str, Any] | None = None
    mid_epoch: bool = False  # inside an epoch with batches left (a checkpoint resumes there)
    # this batch ends an accumulate_grad_batches window (it steps; manual_optimizer_step reads it)
    window_ends: bool = True
    # filled by a mid-epoch restore, consumed by the first resumed epoch
    resume_batches: int = 0
    resume_payload: dict[str, Any] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        return {
            "batches_done": self.batches_done,
            "total_batch_idx": self.total_batch_idx,
            "step_increment_pending": self.step_increment_pending,
            "epoch_schedulers_pending": self.epoch_schedulers_pending,
            "epoch_start_rng": self.epoch_start_rng,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches_done = int(state.get("batches_done", 0))
        self.total_batch_idx = int(state.get("total_batch_idx", 0))
        self.epoch_schedulers_pending = bool(state.get("epoch_schedulers_pending", False))
        self.epoch_start_rng = state.get("epoch_start_rng")


class StopRequest:
    """A flag set from anywhere (a signal handler, a watchdog thread) and read by the loop at
    each step boundary. Setting a bool is atomic under the GIL and takes no lock, so it is
    safe inside a signal handler, which may interrupt the main thread at any bytecode."""

    def __init__(self) -> None:
        self.requested = False
        self.reason = ""

    def request(self, reason: str = "preemption") -> None:
        self.reason = reason
        self.requested = True

    def clear(self) -> None:
        self.requested = False
        self.reason = ""


class StopForCheckpoint(Exception):
    """Raised by the training loop after the requested checkpoint is written; `fit` catches it
    and returns normally with `trainer.state == "interrupted"`."""
