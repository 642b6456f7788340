"""`Strategy`: everything that changes when training runs on more than one device or process.

The Trainer never touches devices, process groups or samplers itself; it asks its strategy.
A single-process run uses `SingleDeviceStrategy`; distributed strategies (dp, ddp, ddp_spawn,
ddp2, multi-node) subclass `Strategy` and override the methods below. Contract:

- `setup(trainer, module)` places (and may wrap) the model; `model` is what steps are called
  on, `lightning_module` is always the user's LightningModule.
- `training_step` / `validation_step` / `test_step` run one step and return its output; the
  Trainer then calls the module's `*_step_end` with that output (dp/ddp2 return outputs
  gathered across devices there).
- `backward` and `optimizer_step` run the module's `backward` / `optimizer_step` hooks with
  the precision plugin around them, so mixed precision and gradient sync live here.
- `reduce(tensor, op)` is how `self.log(..., sync_dist=True)` reduces across ranks.
- `process_dataloader` is the hook for inserting a DistributedSampler.
- `launch(fn, *args)` runs the whole `fit`/`test` entry (a spawning strategy starts processes).
- `save_checkpoint` writes on global rank 0 only.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.precision import PrecisionPlugin

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.view import TrainerView

ReduceOp = str  # "mean" | "sum" | "max" | "min"


class Strategy(ABC):
    """Where and how the model runs. Override the methods a distributed backend changes."""

    def __init__(self, precision_plugin: PrecisionPlugin | None = None) -> None:
        self.precision_plugin = precision_plugin or PrecisionPlugin()
        self._lightning_module: LightningModule | None = None
        self._model: torch.nn.Module | None = None

    # --- identity of this process ---------------------------------------------------------
    @property
    @abstractmethod
    def root_device(self) -> torch.device:
        """The device this process computes on."""

    @property
    def global_rank(self) -> int:
        return 0

    @property
    def local_rank(self) -> int:
        return 0

    @property
    def node_rank(self) -> int:
        return 0

    @property
    def world_size(self) -> int:
        return 1

    @property
    def is_global_zero(self) -> bool:
        return self.global_rank == 0

    @property
    def num_gpus(self) -> int:
        """GPUs this process drives (1 for a single CUDA device, 0 on CPU)."""
        return 1 if self.root_device.type == "cuda" else 0

    # --- lifecycle --------------------------------------------------------------------------
    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run the `fit`/`test` body. Spawning strategies start their processes here."""
        return function(*args, **kwargs)

    def setup_environment(self) -> None:  # noqa: B027 (optional hook)
        """Prepare the process (device selection, process group); called once before setup."""

    def setup(self, trainer: TrainerView, module: LightningModule) -> None:
        """Place the model on the root device; distributed strategies also wrap it."""
        self._lightning_module = module
        module.to(self.root_device)
        self._model = module

    def teardown(self) -> None:  # noqa: B027 (optional hook)
        """Release what setup acquired (process groups, wrappers)."""

    @property
    def model(self) -> torch.nn.Module:
        """The (possibly wrapped) model that steps are called on."""
        assert self._model is not None, "Strategy.setup() has not run"
        return self._model

    @property
    def lightning_module(self) -> LightningModule:
        assert self._lightning_module is not None, "Strategy.setup() has not run"
        return self._lightning_module

    # --- data -------------------------------------------------------------------------------
    def process_dataloader(self, dataloader: Any, *, is_train: bool) -> Any:
        """Return the loader to iterate; distributed strategies insert a sampler here."""
        return dataloader

    def batch_to_device(self, batch: Any, dataloader_idx: int | None = None) -> Any:
        module = self.lightning_module
        return module.transfer_batch_to_device(batch, self.root_device)

    @property
    def needs_batch_transfer(self) -> bool:
        """False when batches already live where the model is (CPU), so the hot loop skips it."""
        return self.root_device.type != "cpu"

    # --- steps ------------------------------------------------------------------------------
    def training_step(self, *args: Any) -> Any:
        with self.precision_plugin.autocast():
            return self.lightning_module.training_step(*args)

    def validation_step(self, *args: Any) -> Any:
        with self.precision_plugin.autocast():
            return self.lightning_module.validation_step(*args)

    def test_step(self, *args: Any) -> Any:
        with self.precision_plugin.autocast():
            return self.lightning_module.test_step(*args)

    def backward(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer | None,
        optimizer_idx: int,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Scale the loss for mixed precision, then run the module's `backward` hook."""
        scaled = self.precision_plugin.scale_loss(loss)
        self.lightning_module.backward(scaled, optimizer, optimizer_idx, *args, **kwargs)

    def clip_gradients(self, optimizer: torch.optim.Optimizer, max_norm: float) -> None:
        """Clip the 2-norm of all model gradients together (after unscaling)."""
        self.precision_plugin.unscale_gradients(optimizer)
        params = [p for p in self.lightning_module.parameters() if p.grad is not None]
        if params:
            torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=2.0)

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        optimizer_idx: int,
        epoch: int,
        batch_idx: int,
        closure: Callable[[], Any] | None = None,
    ) -> None:
        """Run the module's `optimizer_step` hook, then let the precision plugin update."""
        module = self.lightning_module
        module.optimizer_step(
            epoch,
            batch_idx,
            optimizer,
            optimizer_idx,
            closure,
            False,
            self.precision_plugin.uses_scaler,
            isinstance(optimizer, torch.optim.LBFGS),
        )
        self.precision_plugin.after_step()

    # --- collectives (no-ops in one process) -----------------------------------------------
    def reduce(self, tensor: torch.Tensor, op: ReduceOp = "mean") -> torch.Tensor:
        """Reduce `tensor` across all ranks with `op`; the identity in one process."""
        return tensor

    def barrier(self, name: str | None = None) -> None:  # noqa: B027 (optional hook)
        """Wait until every rank reaches this point."""

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Send `obj` from rank `src` to all ranks and return it."""
        return obj

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Stack `tensor` from every rank along a new dim 0."""
        return tensor.unsqueeze(0)

    # --- checkpoints ------------------------------------------------------------------------
    def save_checkpoint(self, checkpoint: dict[str, Any], filepath: str) -> None:
        """Write `checkpoint` atomically, on global rank 0 only."""
        if not self.is_global_zero:
            return
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        tmp = f"{filepath}.tmp"
        with open(tmp, "wb") as fh:
            torch.save(checkpoint, fh)
        os.replace(tmp, filepath)  # a reader never sees a half-written file

    def remove_checkpoint(self, filepath: str) -> None:
        if self.is_global_zero and os.path.exists(filepath):
            os.remove(filepath)

    def model_state_dict(self) -> dict[str, Any]:
        return self.lightning_module.state_dict()
