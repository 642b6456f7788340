"""Progress bars: `ProgressBarBase` (counters) and `ProgressBar` (tqdm), showing `prog_bar`
metrics, the running loss and the logger version."""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any

from trainer_core.callbacks.base import Callback

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class ProgressBarBase(Callback):
    """Counts batches; subclasses draw. `enable()`/`disable()` switch drawing."""

    def __init__(self) -> None:
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        self.test_batch_idx = 0
        self._enabled = True
        self._trainer: Any = None

    def enable(self) -> None:
        self._enabled = True

    def disable(self) -> None:
        self._enabled = False

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    @property
    def is_disabled(self) -> bool:
        return not self.is_enabled

    def on_init_end(self, trainer: Trainer) -> None:
        self._trainer = trainer

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str | None = None) -> None:
        if not trainer.is_global_zero:
            self.disable()  # every rank has a copy of this bar; only rank 0 draws

    @property
    def trainer(self) -> Trainer:
        return self._trainer

    @property
    def total_train_batches(self) -> float:
        """Training batches per epoch (inf for an iterable without a length)."""
        return self._trainer.num_training_batches

    @property
    def total_val_batches(self) -> float:
        """Validation batches of one validation run (0 when validation does not run)."""
        trainer = self._trainer
        if trainer.running_sanity_check:
            steps = math.inf if trainer.num_sanity_val_steps == -1 else trainer.num_sanity_val_steps
            return sum(min(n, steps) for n in trainer.num_val_batches)
        return sum(trainer.num_val_batches) if trainer.enable_validation else 0

    @property
    def total_test_batches(self) -> float:
        return sum(self._trainer.num_test_batches)

    def close(self) -> None:
        """Release the terminal (called when fit ends, also on errors)."""


class ProgressBar(ProgressBarBase):
    """A tqdm bar per training epoch (training plus validation batches) and one for tests.

    Bars advance every `refresh_rate` batches and at a loop's last batch, never past their
    total (Lightning 1.0). Override `init_train_tqdm` / `init_validation_tqdm` /
    `init_test_tqdm` / `init_sanity_tqdm` to customise the bars."""

    POSTFIX_INTERVAL_S = 0.1

    def __init__(self, refresh_rate: int = 1, process_position: int = 0) -> None:
        super().__init__()
        self._postfix_at = 0.0
        self.refresh_rate = int(refresh_rate)  # 0 (as in 1.0) disables the bars
        self.process_position = process_position
        self.main_progress_bar: Any = None
        self.val_progress_bar: Any = None
        self.test_progress_bar: Any = None

    @property
    def is_enabled(self) -> bool:
        return super().is_enabled and self.refresh_rate > 0

    def _bar(self, desc: str, leave: bool, offset: int = 0, smoothing: float = 0.3) -> Any:
        from tqdm.auto import tqdm

        return tqdm(
            desc=desc,
            position=2 * self.process_position + offset,
            leave=leave,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=smoothing,
            disable=self.is_disabled,
        )

    def init_sanity_tqdm(self) -> Any:
        return self._bar("Validation sanity check", leave=False)

    def init_train_tqdm(self) -> Any:
        return self._bar("Training", leave=True, smoothing=0)

    def init_validation_tqdm(self) -> Any:
        return self._bar("Validating", leave=False, offset=1)

    def init_test_tqdm(self) -> Any:
        return self._bar("Testing", leave=True)

    @staticmethod
    def _set_total(bar: Any, total: float) -> None:
        bar.reset(total=None if math.isinf(total) else int(total))

    def _should_update(self, current: int, total: float) -> bool:
        return self.is_enabled and (current % self.refresh_rate == 0 or current == total)

    def _update_bar(self, bar: Any) -> None:
        """Advance by the refresh rate without overshooting the total."""
        if bar is None:
            return
        delta = (
            self.refresh_rate if bar.total is None else min(self.refresh_rate, bar.total - bar.n)
        )
        if delta > 0:
            bar.update(delta)

    def on_sanity_check_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.val_progress_bar = self.init_sanity_tqdm()
        self._set_total(self.val_progress_bar, self.total_val_batches)

    def on_sanity_check_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.val_progress_bar is not None:
            self.val_progress_bar.close()

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # a fresh bar per fit; it stays readable (closed) after fit, as in Lightning 1.0
        self.main_progress_bar = self.init_train_tqdm()

    def _epoch_total(self, trainer: Trainer) -> float:
        total = trainer.num_training_batches
        if (
            trainer.enable_validation
            and (trainer.current_epoch + 1) % trainer.check_val_every_n_epoch == 0
        ):
            runs = (
                1
                if math.isinf(trainer.val_check_batch) or math.isinf(total)
                else max(1, int(total // trainer.val_check_batch))
            )
            total = total + runs * sum(trainer.num_val_batches)
        return total

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.train_batch_idx = 0
        if self.main_progress_bar is None:
            self.main_progress_bar = self.init_train_tqdm()
        self._set_total(self.main_progress_bar, self._epoch_total(trainer))
        self.main_progress_bar.set_description(f"Epoch {trainer.current_epoch}")

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self.train_batch_idx += 1
        bar = self.main_progress_bar
        if bar is not None and self._should_update(self.train_batch_idx, bar.total or math.inf):
            self._update_bar(bar)
            # building the metrics dict costs a sync per value: do it only as often as the
            # terminal is redrawn anyway (tqdm's mininterval), not on every batch
            now = time.monotonic()
            if now - self._postfix_at >= self.POSTFIX_INTERVAL_S:
                self._postfix_at = now
                bar.set_postfix(trainer.progress_bar_dict, refresh=False)

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.val_batch_idx = 0
        if trainer.running_sanity_check:
            return
        self._update_bar(self.main_progress_bar)  # fill up what the refresh rate held back
        self.val_progress_bar = self.init_validation_tqdm()
        self._set_total(self.val_progress_bar, self.total_val_batches)

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self.val_batch_idx += 1
        if self.val_progress_bar is not None and self._should_update(
            self.val_batch_idx, self.total_val_batches
        ):
            self._update_bar(self.val_progress_bar)
            if not trainer.running_sanity_check:
                self._update_bar(self.main_progress_bar)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.val_progress_bar is not None:
            self.val_progress_bar.close()  # kept (closed) so its totals stay readable
        if self.main_progress_bar is not None and not trainer.running_sanity_check:
            self.main_progress_bar.set_postfix(trainer.progress_bar_dict, refresh=True)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.close()

    def on_test_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.test_batch_idx = 0
        self.test_progress_bar = self.init_test_tqdm()
        self._set_total(self.test_progress_bar, self.total_test_batches)

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self.test_batch_idx += 1
        if self.test_progress_bar is not None and self._should_update(
            self.test_batch_idx, self.total_test_batches
        ):
            self._update_bar(self.test_progress_bar)

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.test_progress_bar is not None:
            self.test_progress_bar.close()

    def __getstate__(self) -> dict[str, Any]:
        # tqdm bars hold the terminal stream, which cannot be pickled (torch.save(trainer))
        state = self.__dict__.copy()
        state["main_progress_bar"] = state["val_progress_bar"] = state["test_progress_bar"] = None
        return state

    def close(self) -> None:
        """Close the bars; they stay readable (`total`, `n`) as in Lightning 1.0."""
        for bar in (self.main_progress_bar, self.val_progress_bar, self.test_progress_bar):
            if bar is not None:
                bar.close()
