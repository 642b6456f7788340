"""`TrainerView`: the part of the Trainer that strategies may use, as a typed Protocol, and
`RankResults`, what a finished rank hands back to the process that launched it.

Strategies are typed against this view, never against `Trainer` itself, so what they may read
and change is listed in one place: they read ranks, flags and callbacks here, and hand
results back through `adopt_rank_results` instead of setting the trainer's (or its
callbacks') attributes one by one. `tests/trainer_core/test_structure.py` keeps it that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch

from trainer_core.trainer.states import TrainerState

if TYPE_CHECKING:
    from trainer_core.callbacks.base import Callback
    from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
    from trainer_core.core.module import LightningModule
    from trainer_core.loggers.base import LightningLoggerBase
    from trainer_core.strategies.base import Strategy
    from trainer_core.trainer.trainer import Trainer


class TrainerView(Protocol):
    """What a strategy sees of the trainer it runs for."""

    strategy: Strategy
    callbacks: list[Callback]
    logger: LightningLoggerBase | None
    testing: bool
    replace_sampler_ddp: bool
    current_epoch: int
    global_step: int
    logged_metrics: dict[str, float]

    @property
    def is_global_zero(self) -> bool: ...

    @property
    def lightning_module(self) -> LightningModule: ...

    @property
    def checkpoint_callbacks(self) -> list[ModelCheckpoint]: ...

    @property
    def callback_metrics(self) -> dict[str, torch.Tensor]: ...

    def adopt_rank_results(self, results: RankResults, model: LightningModule | None) -> None: ...


@dataclass
class RankResults:
    """Rank 0's outcome of a run in child processes, in plain values (it travels through a
    file that `torch.load(weights_only=True)` reads back)."""

    result: Any = None
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    callback_metrics: dict[str, float] = field(default_factory=dict)
    logged_metrics: dict[str, float] = field(default_factory=dict)
    current_epoch: int = 0
    global_step: int = 0
    checkpoint_states: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, trainer: TrainerView, result: Any) -> RankResults:
        return cls(
            result=result,
            state_dict={
                k: v.detach().cpu() for k, v in trainer.lightning_module.state_dict().items()
            },
            callback_metrics={k: float(v) for k, v in trainer.callback_metrics.items()},
            logged_metrics=dict(trainer.logged_metrics),
            current_epoch=trainer.current_epoch,
            global_step=trainer.global_step,
            checkpoint_states=[_plain(cb.state_dict()) for cb in trainer.checkpoint_callbacks],
        )

    def to_payload(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RankResults:
        return cls(**payload)


def _plain(value: Any) -> Any:
    """Tensors as floats, containers element by element (a weights-only file holds these)."""
    if isinstance(value, torch.Tensor):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class TrainerRankResults:
    """Mixed into `Trainer`: take over a finished rank's results (Lightning 1.0's ddp_spawn
    leaves the launching process's model and trainer as if it had trained itself)."""

    def adopt_rank_results(self, results: RankResults, model: LightningModule | None) -> None:
        trainer = cast("Trainer", self)
        if model is not None:
            model.load_state_dict(results.state_dict)
            trainer.model = model
            model.trainer = trainer
        trainer.callback_metrics = {k: torch.tensor(v) for k, v in results.callback_metrics.items()}
        trainer.logged_metrics = dict(results.logged_metrics)
        trainer.current_epoch = results.current_epoch
        trainer.global_step = results.global_step
        trainer.state = TrainerState.FINISHED
        for callback, state in zip(
            trainer.checkpoint_callbacks, results.checkpoint_states, strict=False
        ):
            callback.load_state_dict(_with_tensor_scores(state))


def _with_tensor_scores(state: dict[str, Any]) -> dict[str, Any]:
    """ModelCheckpoint keeps scores as tensors; they travelled as floats."""
    out = dict(state)
    if out.get("best_model_score") is not None:
        out["best_model_score"] = torch.tensor(out["best_model_score"])
    if isinstance(out.get("best_k_models"), dict):
        out["best_k_models"] = {k: torch.tensor(v) for k, v in out["best_k_models"].items()}
    return out
