"""`DDPStrategy`: one process per device, gradients synced by DistributedDataParallel.

Lightning 1.0's `ddp`: the first process of each node re-runs the user's script once per
extra local device with `LOCAL_RANK` set (and `MASTER_ADDR`/`MASTER_PORT`/`NODE_RANK`/
`WORLD_SIZE`), then trains as local rank 0. A process that finds `LOCAL_RANK` already set
(started by us, torchrun, or Runyard's worker) joins as that rank without launching; with one
process per node the worker's `NODE_RANK`/`WORLD_SIZE`/`MASTER_*` are enough.

Backend: gloo on CPU, NCCL on CUDA. Automatic optimization goes through a
DistributedDataParallel wrapper (bucketed all-reduce overlapped with backward, buffers
broadcast from rank 0); manual optimization runs backward inside `training_step`, where DDP's
reducer cannot follow, so there gradients are averaged explicitly in `backward`.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from trainer_core.precision import PrecisionPlugin
from trainer_core.strategies import collectives
from trainer_core.strategies.base import ReduceOp, Strategy
from trainer_core.strategies.environment import ClusterEnvironment, find_free_port
from trainer_core.strategies.errors import DistributedRunError
from trainer_core.strategies.launcher import RankSupervisor, start_script_ranks
from trainer_core.strategies.process_death import ERROR_FILE_VARIABLE, write_error_file
from trainer_core.strategies.sampler import with_distributed_sampler

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.view import TrainerView


# Points the Trainer may reach on rank 0 only (see the checkpoint section below).
_RANK_ZERO_ONLY_POINTS = frozenset({"save_checkpoint"})


class StepRouter(torch.nn.Module):
    """Makes `forward(stage, *args)` call the module's `training_step` etc., so a wrapper that
    hooks `forward` (DistributedDataParallel, DataParallel replicas) sees the step."""

    def __init__(
        self,
        module: LightningModule,
        autocast: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        super().__init__()
        self.module = module
        # dp runs replicas in threads, and autocast is thread-local: each replica enters the
        # precision plugin's autocast itself (torch's parallel_apply would pick float16)
        self.autocast = autocast

    def forward(self, stage: str, *args: Any) -> Any:
        if self.autocast is None:
            return getattr(self.module, stage)(*args)
        with self.autocast():
            return getattr(self.module, stage)(*args)


class DDPStrategy(Strategy):
    """Distributed data parallel over `parallel_devices` on each of `num_nodes` nodes."""

    strategy_name = "ddp"

    def __init__(
        self,
        parallel_devices: list[torch.device],
        num_nodes: int = 1,
        cluster_environment: ClusterEnvironment | None = None,
        precision_plugin: PrecisionPlugin | None = None,
        find_unused_parameters: bool = True,  # Lightning 1.0's default
    ) -> None:
        super().__init__(precision_plugin)
        self.parallel_devices = list(parallel_devices)
        self.num_nodes = num_nodes
        self.cluster_environment = cluster_environment or ClusterEnvironment.from_env()
        self.cluster_environment.check_against(num_nodes, self.processes_per_node)
        self.find_unused_parameters = find_unused_parameters
        self._local_rank = self.cluster_environment.local_rank or 0
        self._trainer: TrainerView | None = None
        self._supervisor: RankSupervisor | None = None
        self._sync_explicitly = False
        self._run_failed = False  # a failed rank does not wait for its peers at teardown

    # --- identity ---------------------------------------------------------------------------
    @property
    def processes_per_node(self) -> int:
        return len(self.parallel_devices)

    @property
    def root_device(self) -> torch.device:
        return self.parallel_devices[self._local_rank]

    @property
    def local_rank(self) -> int:
        return self._local_rank

    @property
    def node_rank(self) -> int:
        return self.cluster_environment.node_rank

    @property
    def global_rank(self) -> int:
        return self.node_rank * self.processes_per_node + self._local_rank

    @property
    def world_size(self) -> int:
        return self.num_nodes * self.processes_per_node

    @property
    def backend(self) -> str:
        return "nccl" if self.root_device.type == "cuda" else "gloo"

    # --- launching --------------------------------------------------------------------------
    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._supervisor is None and self._must_launch():
            self._supervisor = self._start_local_ranks(function)
        error_file = os.environ.get(ERROR_FILE_VARIABLE)
        try:
            result = function(*args, **kwargs)
            self.barrier("end of run")
            self.share_checkpoint_state(getattr(function, "__self__", None))
            return result
        except BaseException as exc:
            self._run_failed = True
            if error_file:
                write_error_file(error_file, self.global_rank, exc)
            if self._supervisor is not None:
                self._report_child_failure(self._supervisor, exc)
            raise

    def _must_launch(self) -> bool:
        return not self.cluster_environment.launched_externally and self.processes_per_node > 1

    def _rendezvous_env(self) -> dict[str, str]:
        env = self.cluster_environment
        port = env.master_port if env.master_port is not None else find_free_port()
        return {
            "MASTER_ADDR": env.master_addr,
            "MASTER_PORT": str(port),
            "NODE_RANK": str(env.node_rank),
            "WORLD_SIZE": str(self.world_size),
        }

    def _start_local_ranks(self, function: Callable[..., Any]) -> RankSupervisor:
        rendezvous = self._rendezvous_env()
        trainer = getattr(function, "__self__", None)
        logger = getattr(trainer, "logger", None)
        if logger is not None and self.node_rank == 0:
            # every rank must name the same log/checkpoint folder; the Trainer reads this
            rendezvous["PL_EXP_VERSION"] = str(logger.version)
        os.environ.update(rendezvous)
        os.environ["LOCAL_RANK"] = "0"  # a later Trainer in this script joins instead of launching
        self.cluster_environment = ClusterEnvironment.from_env()
        error_dir = tempfile.mkdtemp(prefix="trainer_core_ranks_")
        return start_script_ranks(
            range(1, self.processes_per_node),
            lambda local: self.node_rank * self.processes_per_node + local,
            rendezvous,
            error_dir,
        )

    @staticmethod
    def _report_child_failure(supervisor: RankSupervisor, exc: BaseException) -> None:
        """Turn this rank's collective error into the failing child's error; stop the others."""
        supervisor.take_over()
        # a child whose death broke our collective may still be exiting: give it a moment
        wait_s = 5.0 if isinstance(exc, RuntimeError) else 0.5
        failure = supervisor.wait_for_failure(wait_s)
        supervisor.terminate_all()
        if failure is not None and not isinstance(exc, KeyboardInterrupt):
            raise DistributedRunError(failure.describe()) from exc

    # --- process group and model ------------------------------------------------------------
    def setup_environment(self) -> None:
        if self.root_device.type == "cuda":
            torch.cuda.set_device(self.root_device)
        if dist.is_initialized():
            return
        env = self.cluster_environment
        port = env.master_port
        if port is None:
            if self.world_size > 1:
                raise DistributedRunError(
                    "MASTER_PORT is not set for a multi-process run; start it through the Trainer "
                    "(accelerator='ddp') or set MASTER_ADDR/MASTER_PORT/NODE_RANK/WORLD_SIZE."
                )
            port = find_free_port()
        dist.init_process_group(
            self.backend,
            init_method=f"tcp://{env.master_addr}:{port}",
            rank=self.global_rank,
            world_size=self.world_size,
            timeout=env.collective_timeout,
        )
        # the group outlives fit (the script may test() next) but never the interpreter;
        # registered after the launcher's join, so it runs first (atexit is LIFO): rank 0
        # waits there for the other ranks to close theirs, then the launcher joins them
        atexit.register(self.end_process_group)

    def end_process_group(self) -> None:
        """Tear this rank's process group down in order (see `collectives.destroy_process_group`)."""
        collectives.destroy_process_group(wait_for_peers=not self._run_failed)

    def setup(self, trainer: TrainerView, module: LightningModule) -> None:
        self._trainer = trainer
        self._lightning_module = module
        module.to(self.root_device)
        # only rank 0 draws progress (the bar checks the rank itself) and only rank 0 calls the
        # loggers (the Trainer does): nothing of the trainer's to switch off here
        self._model = self._wrap(trainer, module)

    def _wrap(self, trainer: TrainerView, module: LightningModule) -> torch.nn.Module:
        trains = not trainer.testing and any(p.requires_grad for p in module.parameters())
        self._sync_explicitly = trains and not module.automatic_optimization
        if not trains or self._sync_explicitly:
            collectives.broadcast_module(module)  # every rank starts from rank 0's weights
            return module
        return DistributedDataParallel(
            StepRouter(module),
            device_ids=[self.root_device.index] if self.root_device.type == "cuda" else None,
            find_unused_parameters=self.find_unused_parameters,
        )

    def teardown(self) -> None:
        # the process group stays: the script may call trainer.test() on the same ranks next
        if self._lightning_module is not None:
            self._model = self._lightning_module

    # --- data and steps ---------------------------------------------------------------------
    def process_dataloader(self, dataloader: Any, *, is_train: bool) -> Any:
        trainer = self._trainer
        if trainer is not None and not trainer.replace_sampler_ddp:
            return dataloader
        return with_distributed_sampler(
            dataloader,
            num_replicas=self.num_replicas,
            rank=self.replica_rank,
            is_train=is_train,
            epoch_source=(lambda: trainer.current_epoch) if trainer is not None else None,
        )

    @property
    def num_replicas(self) -> int:
        """How many shares the data is split into (ddp2 overrides: one per node)."""
        return self.world_size

    @property
    def replica_rank(self) -> int:
        return self.global_rank

    def training_step(self, *args: Any) -> Any:
        with self.precision_plugin.autocast():
            if isinstance(self._model, DistributedDataParallel):
                return self._model("training_step", *args)
            return self.lightning_module.training_step(*args)

    def backward(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer | None,
        optimizer_idx: int,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().backward(loss, optimizer, optimizer_idx, *args, **kwargs)
        if self._sync_explicitly:
            collectives.average_gradients(self.lightning_module.parameters())

    # --- collectives ------------------------------------------------------------------------
    def reduce(self, tensor: torch.Tensor, op: ReduceOp = "mean") -> torch.Tensor:
        return collectives.reduce_tensor(tensor, op)

    def barrier(self, name: str | None = None) -> None:
        if name in _RANK_ZERO_ONLY_POINTS:
            return
        if collectives.group_ready():
            if dist.get_backend() == "nccl":
                dist.barrier(device_ids=[torch.cuda.current_device()])
            else:
                dist.barrier()

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        if not collectives.group_ready():
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=src)
        return box[0]

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        if not collectives.group_ready():
            return tensor.unsqueeze(0)
        work = tensor.detach().to(collectives.comm_device()).contiguous()
        pieces = [torch.empty_like(work) for _ in range(dist.get_world_size())]
        dist.all_gather(pieces, work)
        return torch.stack(pieces).to(tensor.device)

    # --- checkpoints ------------------------------------------------------------------------
    # Rank 0 writes checkpoints alone (atomically, see Strategy.save_checkpoint) and no rank waits
    # for the others around it: checkpoint callbacks decide from each rank's own metrics, and a
    # value logged without sync_dist differs between ranks, so a collective here could be reached
    # by rank 0 only and hang the run. The weights are identical on every rank after each step,
    # so nothing needs the others to wait; the end of the run is a barrier, after which
    # `share_checkpoint_state` gives every rank rank 0's view of what was saved.

    def save_checkpoint(self, checkpoint: dict[str, Any], filepath: str) -> None:
        super().save_checkpoint(checkpoint, filepath)

    def share_checkpoint_state(self, trainer: TrainerView | None) -> None:
        """Every rank adopts rank 0's ModelCheckpoint paths and scores (which it wrote)."""
        callbacks = trainer.checkpoint_callbacks if trainer is not None else []
        states = self.broadcast([callback.state_dict() for callback in callbacks])
        for callback, state in zip(callbacks, states, strict=True):
            callback.load_state_dict(state)
