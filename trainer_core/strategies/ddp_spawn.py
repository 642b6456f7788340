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
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.strategies.ddp import DDPStrategy
from trainer_core.strategies.environment import ClusterEnvironment
from trainer_core.strategies.errors import DistributedRunError
from trainer_core.strategies.launcher import RankProcess, RankSupervisor
from trainer_core.strategies.process_death import die_with_parent, write_error_file

if TYPE_CHECKING:
    from trainer_core.trainer.view import TrainerView


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

    def become_rank(self, local_rank: int) -> None:
        """In a spawned child: train as `local_rank` (the rendezvous is in the environment)."""
        self._in_child = True
        self._local_rank = local_rank
        self.cluster_environment = ClusterEnvironment.from_env()

    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._in_child or self.cluster_environment.launched_externally:
            return super().launch(function, *args, **kwargs)
        trainer: TrainerView = function.__self__  # type: ignore[attr-defined]
        env = self._rendezvous_env()
        if trainer.logger is not None:
            env["PL_EXP_VERSION"] = str(trainer.logger.version)  # resolved once, here
        workdir = tempfile.mkdtemp(prefix="trainer_core_spawn_")
        try:
            payload = self._spawn_and_wait(function, args, kwargs, env, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if payload is None:  # not node 0: rank 0's results are on another machine
            return None
        from trainer_core.trainer.view import RankResults  # the trainer package imports us

        results = RankResults.from_payload(payload)
        trainer.adopt_rank_results(results, args[0] if args else None)
        return results.result

    def _spawn_and_wait(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        env: dict[str, str],
        workdir: str,
    ) -> dict[str, Any] | None:
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
            return None
        return torch.load(result_file, map_location="cpu", weights_only=True)


def _exit_code_of(process: Any) -> Callable[[], int | None]:
    return lambda: process.exitcode


def run_spawned_rank(spec: SpawnedRank, work: bytes) -> None:
    """Entry point of a spawned child: become the rank, run, and send rank 0's results back."""
    die_with_parent(spec.parent_pid)
    function, args, kwargs = pickle.loads(work)
    os.environ.update(spec.env)
    os.environ["LOCAL_RANK"] = str(spec.local_rank)
    trainer: TrainerView = function.__self__  # type: ignore[attr-defined]
    strategy = trainer.strategy
    assert isinstance(strategy, DDPSpawnStrategy)
    strategy.become_rank(spec.local_rank)
    try:
        result = function(*args, **kwargs)
        strategy.barrier("end of run")
        strategy.share_checkpoint_state(trainer)
    except BaseException as exc:
        write_error_file(spec.error_file, strategy.global_rank, exc)
        sys.exit(1)
    if strategy.is_global_zero:
        from trainer_core.trainer.view import RankResults  # the trainer package imports us

        torch.save(RankResults.of(trainer, result).to_payload(), spec.result_file)
    # every collective is done (the end-of-run barrier and broadcast above): end the group here,
    # in order, rather than leaving its threads to process exit
    strategy.end_process_group()
