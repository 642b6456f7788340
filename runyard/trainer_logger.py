"""`RunyardLogger`: trainer_core's logger interface over `runyard.init`, for trainer runs
started by hand (a laptop, a notebook) rather than by a Runyard worker.

    from trainer_core import Trainer
    from runyard.trainer_logger import RunyardLogger

    logger = RunyardLogger(project="vision", name="digits-laptop")
    Trainer(max_epochs=3, logger=logger).fit(model)   # the run ends with fit

The run is created on first use (so constructing the logger costs nothing), hyperparameters
become the run's params, every `log_metrics` row becomes points at its step (an "epoch"
entry is the points' epoch, as the worker's logger does), and `finalize` ends the run:
"success" completed, "failed" failed, "interrupted" canceled.
"""

from typing import Any

from runyard.tracking import Run, init
from runyard.tracking.run import Ending
from trainer_core.loggers import LightningLoggerBase
from trainer_core.loggers.base import sanitize_params

_ENDINGS: dict[str, Ending] = {
    "success": "completed",
    "failed": "failed",
    "interrupted": "canceled",
}


class RunyardLogger(LightningLoggerBase):
    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        *,
        resume: str | None = None,
        tags: list[str] | None = None,
        **init_options: Any,
    ) -> None:
        super().__init__()
        self._project = project
        self._name = name
        self._resume = resume
        self._tags = tags
        self._init_options = init_options
        self._run: Run | None = None

    @property
    def experiment(self) -> Run:
        """The `runyard.Run` (created on first use)."""
        if self._run is None:
            self._run = init(
                self._project,
                self._name,
                tags=self._tags,
                resume=self._resume,
                **self._init_options,
            )
        return self._run

    @property
    def name(self) -> str:
        return self._name or "runyard"

    @property
    def version(self) -> str:
        return self.experiment.id

    def log_hyperparams(self, params: Any) -> None:
        self.experiment.log_params(sanitize_params(params))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        values = dict(metrics)
        epoch = values.pop("epoch", None)
        if values:
            self.experiment.log(values, step=step, epoch=int(epoch) if epoch is not None else None)

    def save(self) -> None:
        super().save()
        if self._run is not None:
            self._run.flush()

    def finalize(self, status: str) -> None:
        self._flush_pending()
        if self._run is not None:
            self._run.finish(
                _ENDINGS.get(status, "failed"), None if status == "success" else status
            )  # type: ignore[arg-type]
