"""`self.log` from the module's per-batch hooks: logged like training_step's values, on_step
by default, so they reach the logger's step rows and the callback metrics.

A deliberate difference, like the epoch-end hooks' logging in test_logging: the real
Lightning 1.0.8 keeps only on_after_backward's values here and silently drops those logged
in on_train_batch_start, on_before_zero_grad and on_train_batch_end (checked against the
oracle venv); trainer_core drops none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from tests.trainer_core.test_logging import MemoryLogger


class LogsInHook(RegressionModel):
    """Logs `hook_value` (1.0, 2.0, ... one per call) from the hook named `hook`."""

    def __init__(self, hook: str) -> None:
        super().__init__()
        self.calls = 0

        def log_from_hook(*args: Any) -> None:
            self.calls += 1
            self.log("hook_value", float(self.calls))

        setattr(self, hook, log_from_hook)


@pytest.mark.parametrize(
    "hook",
    ["on_train_batch_start", "on_train_batch_end", "on_after_backward", "on_before_zero_grad"],
)
def test_self_log_in_a_per_batch_module_hook_is_logged_on_step(tmp_path: Any, hook: str) -> None:
    logger = MemoryLogger()
    trainer = quiet_trainer(tmp_path, logger=logger, log_every_n_steps=1)
    model = LogsInHook(hook)
    trainer.fit(model, loader(n=32, batch_size=16))  # two batches
    assert model.calls == 2
    step_rows = [(step, metrics) for step, metrics in logger.calls if "train_loss" in metrics]
    # in the same step row as training_step's own value
    assert [(step, metrics.get("hook_value")) for step, metrics in step_rows] == [
        (0, 1.0),
        (1, 2.0),
    ]
    assert trainer.callback_metrics["hook_value"].item() == 2.0
