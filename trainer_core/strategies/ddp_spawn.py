"""`DDPSpawnStrategy`: `ddp_spawn` / `ddp_cpu`, ranks started with multiprocessing's spawn.

The calling process does not train: it starts one child per local device, supervises them
(see `launcher.py`), and when they finish loads rank 0's trained weights and results back into
its own model and trainer, so `trainer.fit(model)` leaves `model` trained as 1.0 did. The
model, data and trainer travel to the children by pickling (so the script needs the usual
`if __name__ == "__main__":` guard and importable classes).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.strategies import collectives
from trainer_core.strategies.ddp import DDPStrategy
from trainer_core.strategies.environment import ClusterEnvironment
from trainer_core.strategies.errors import DistributedRunError
from trainer_core.strategies.launcher import RankProcess, RankSupervisor
from trainer_core.strategies.process_death import die_with_parent, write_error_file

_CHECKPOINT_FIELDS = (
    "best_model_path",
    "best_model_score",
    "last_model_path",
    "kth_best_model_path",
)


@dataclass(frozen=True)
class SpawnedRank:
    """What a spawned child needs to know about its place and where to report."""

    local_rank: int
    parent_pid: int
    env: dict[str, str]
    error_file: str
    result_file: str


class DDPSpawnStrategy(DDPStrategy):
    strategy_name = "ddp_spawn"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_child = False

    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._in_child or self.cluster_environment.launched_externally:
            return super().launch(function, *args, **kwargs)
        trainer = function.__self__  # type: ignore[attr-defined]
        env = self._rendezvous_env()
        if trainer.logger is not None:
            env["PL_EXP_VERSION"] = str(trainer.logger.version)  # resolved once, here
        workdir = tempfile.mkdtemp(prefix="trainer_core_spawn_")
        try:
            payload = self._spawn_and_wait(function, args, kwargs, env, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        _apply_rank_zero_results(trainer, args[0] if args else None, payload)
        return payload["result"]

    def _spawn_and_wait(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        env: dict[str, str],
        workdir: str,
    ) -> dict[str, Any]:
        context = multiprocessing.get_context("spawn")
        # Plain pickle copies tensors; multiprocessing's pickler (as torch extends it) would put
        # them in shared memory, and every rank would then step the same weights.
        work = pickle.dumps((function, args, kwargs))
        result_file = os.path.join(workdir, "rank_0_result.pt")
        children: list[RankProcess] = []
        for local_rank in range(self.processes_per_node):
            rank = self.node_rank * self.processes_per_node + local_rank
            spec = SpawnedRank(
                local_rank,
                os.getpid(),
                env,
                os.path.join(workdir, f"rank_{rank}.err"),
                result_file,
            )
            process = context.Process(
                target=run_spawned_rank,
                args=(spec, work),
                name=f"trainer-core-rank-{rank}",
            )
            process.start()
            children.append(
                RankProcess(rank, process.pid or -1, spec.error_file, _exit_code_of(process))
            )
        supervisor = RankSupervisor(children)
        try:
            failure = supervisor.wait_all()
        except BaseException:  # Ctrl-C in the parent: take the ranks down with it
            supervisor.terminate_all()
            raise
        if failure is not None:
            supervisor.terminate_all()
            raise DistributedRunError(failure.describe())
        if self.node_rank != 0:
            return {"result": None}
        return torch.load(result_file, map_location="cpu", weights_only=True)


def _exit_code_of(process: Any) -> Callable[[], int | None]:
    return lambda: process.exitcode


def run_spawned_rank(spec: SpawnedRank, work: bytes) -> None:
    """Entry point of a spawned child: become the rank, run, and send rank 0's results back."""
    die_with_parent(spec.parent_pid)
    function, args, kwargs = pickle.loads(work)
    os.environ.update(spec.env)
    os.environ["LOCAL_RANK"] = str(spec.local_rank)
    trainer = function.__self__  # type: ignore[attr-defined]
    strategy = trainer.strategy
    strategy._in_child = True
    strategy._local_rank = spec.local_rank
    strategy.cluster_environment = ClusterEnvironment.from_env()
    try:
        result = function(*args, **kwargs)
        strategy.barrier("end of run")
        strategy.share_checkpoint_state(trainer)
    except BaseException as exc:
        write_error_file(spec.error_file, strategy.global_rank, exc)
        sys.exit(1)
    if strategy.is_global_zero:
        torch.save(_rank_zero_results(trainer, result), spec.result_file)
    # every collective is done (the end-of-run barrier and broadcast above): end the group here,
    # in order, rather than leaving its threads to process exit
    collectives.destroy_process_group()


def _rank_zero_results(trainer: Any, result: Any) -> dict[str, Any]:
    checkpoint = trainer.checkpoint_callback
    return {
        "result": result,
        "state_dict": {
            k: v.detach().cpu() for k, v in trainer.lightning_module.state_dict().items()
        },
        "callback_metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
        "logged_metrics": dict(trainer.logged_metrics),
        "current_epoch": trainer.current_epoch,
        "global_step": trainer.global_step,
        "checkpoint": (
            {name: _plain(getattr(checkpoint, name, None)) for name in _CHECKPOINT_FIELDS}
            if checkpoint is not None
            else {}
        ),
    }


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, torch.Tensor) else value


def _apply_rank_zero_results(trainer: Any, model: Any, payload: dict[str, Any]) -> None:
    """Make the parent's model and trainer look as if it had trained itself (1.0 behaviour)."""
    if "state_dict" not in payload:
        return
    if model is not None:
        model.load_state_dict(payload["state_dict"])
        trainer.model = model
        model.trainer = trainer
    trainer.callback_metrics = {k: torch.tensor(v) for k, v in payload["callback_metrics"].items()}
    trainer.logged_metrics = dict(payload["logged_metrics"])
    trainer.current_epoch = payload["current_epoch"]
    trainer.global_step = payload["global_step"]
    trainer.state = "finished"
    checkpoint = trainer.checkpoint_callback
    if isinstance(checkpoint, ModelCheckpoint):
        for name, value in payload["checkpoint"].items():
            if value is not None:
                setattr(
                    checkpoint,
                    name,
                    torch.tensor(value) if name == "best_model_score" else value,
                )
