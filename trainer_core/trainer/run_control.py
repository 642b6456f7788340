"""How a run ends: a requested checkpoint-and-stop (preemption), Ctrl-C, a failure or success,
with loggers finalized and the progress bar closed; and the `deterministic`/`benchmark` switches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

import torch

from trainer_core.trainer.loop_state import StopForCheckpoint
from trainer_core.trainer.states import TrainerState

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainerRunControl:
    """Mixed into `Trainer`: the guard around `fit`/`test` and the stop requests."""

    def request_checkpoint_and_stop(self, reason: str = "preemption") -> None:
        """Ask a running `fit` to write a checkpoint at the next step boundary and stop.

        Safe to call from a signal handler or any thread (it only sets a flag; see
        `callbacks.PreemptionHandler` for SIGUSR1/SIGTERM). The checkpoint goes through the
        ModelCheckpoint callback (its `last.ckpt`, announced with `on_checkpoint_saved`;
        `preempted.ckpt` under weights_save_path without one) and holds the whole loop state,
        so `resume_from_checkpoint` continues exactly there. `fit` then returns normally
        with `state == "interrupted"` and `stop_reason == reason`.
        """
        trainer = cast("Trainer", self)
        trainer._stop_request.request(reason)

    def _stop_requested(self) -> bool:
        trainer = cast("Trainer", self)
        requested = trainer._stop_request.requested
        if trainer.world_size > 1:
            # every rank must stop at the same step, whichever of them got the signal
            requested = bool(trainer.strategy.reduce(torch.tensor(float(requested)), "max"))
        return requested

    def _checkpoint_and_stop(self) -> None:
        trainer = cast("Trainer", self)
        callback = trainer.checkpoint_callback
        if callback is not None:
            path = callback.save_for_resume(trainer, trainer.lightning_module)
        else:
            path = os.path.join(trainer.weights_save_path, "preempted.ckpt")
            trainer.save_checkpoint(path)
        trainer.preemption_checkpoint_path = path
        raise StopForCheckpoint(path)

    @contextmanager
    def _run_guard(self) -> Iterator[None]:
        """Finalize loggers with the run's outcome; re-raise user errors after that."""
        trainer = cast("Trainer", self)
        try:
            yield
        except StopForCheckpoint:
            trainer.interrupted = True
            trainer.state = TrainerState.INTERRUPTED
            trainer.stop_reason = trainer._stop_request.reason
            trainer._stop_request.clear()
            trainer._call_teardown("fit")
            trainer._finalize_loggers("interrupted")
            trainer._close_progress_bar()
            return
        except KeyboardInterrupt:
            # Lightning 1.0: Ctrl-C ends training gracefully; fit returns
            trainer.interrupted = True
            trainer.state = TrainerState.INTERRUPTED
            trainer._call_callbacks("on_keyboard_interrupt")
            trainer._finalize_loggers("interrupted")
            trainer._close_progress_bar()
            return
        except BaseException as exc:
            trainer.state = TrainerState.FAILED
            try:
                trainer._call_callbacks("on_exception", exc)
            finally:
                trainer._finalize_loggers("failed")
                trainer._close_progress_bar()
            raise
        trainer._finalize_loggers("success")

    def _close_progress_bar(self) -> None:
        trainer = cast("Trainer", self)
        bar = trainer.progress_bar_callback
        if bar is not None:
            bar.close()

    def _finalize_loggers(self, status: str) -> None:
        trainer = cast("Trainer", self)
        if trainer.logger is not None and trainer.is_global_zero:
            trainer.logger.finalize(status)

    @contextmanager
    def _determinism(self) -> Iterator[None]:
        """deterministic=True turns on torch's deterministic algorithms for the run only."""
        trainer = cast("Trainer", self)
        if not trainer.deterministic and not trainer.benchmark:
            yield
            return
        previous = (
            torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        )
        if trainer.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = trainer.benchmark and not trainer.deterministic
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous[0])
            torch.backends.cudnn.deterministic = previous[1]
            torch.backends.cudnn.benchmark = previous[2]
