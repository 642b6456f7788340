"""`DataParallelStrategy` (`dp`): one process splits each batch over several GPUs.

Lightning 1.0's data flow: the batch is split along dim 0, each GPU runs `training_step` on
its piece with a replica of the model, the per-GPU outputs are gathered onto the first GPU
(scalars stacked into a vector of one value per GPU, other tensors concatenated) and handed
to `training_step_end`. Without a `*_step_end` override the per-GPU losses are averaged.
The split and gather are pure functions, tested on CPU; the strategy itself needs CUDA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch.nn.parallel import parallel_apply, replicate

from trainer_core.strategies.ddp import StepRouter
from trainer_core.strategies.single_device import SingleDeviceStrategy

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.precision import PrecisionPlugin
    from trainer_core.trainer.view import TrainerView


def split_batch(batch: Any, devices: Sequence[torch.device]) -> list[Any]:
    """`batch` cut into at most one piece per device along dim 0, each piece on its device.

    Tensors are chunked (a batch smaller than the device count gives fewer pieces); lists,
    tuples and dicts are split element-wise; anything else is given to every piece unchanged.
    """
    count = _piece_count(batch, len(devices))
    return [_piece(batch, i, count, devices[i]) for i in range(count)]


def _piece_count(batch: Any, devices: int) -> int:
    if isinstance(batch, torch.Tensor):
        return len(torch.chunk(batch, devices)) if batch.dim() > 0 else devices
    if isinstance(batch, Mapping):
        values: Sequence[Any] = list(batch.values())
    elif isinstance(batch, list | tuple):
        values = batch
    else:
        return devices
    counts = [_piece_count(v, devices) for v in values]
    return min(counts) if counts else devices


def _piece(batch: Any, index: int, count: int, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        if batch.dim() == 0:
            return batch.to(device)
        return torch.chunk(batch, count)[index].to(device)
    if isinstance(batch, Mapping):
        return type(batch)({k: _piece(v, index, count, device) for k, v in batch.items()})  # type: ignore[call-arg]
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(_piece(v, index, count, device) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(_piece(v, index, count, device) for v in batch)
    return batch


def gather_outputs(outputs: Sequence[Any], device: torch.device) -> Any:
    """Per-device step outputs merged onto `device`: scalars stacked (one per device), other
    tensors concatenated along dim 0, dicts and sequences merged key by key."""
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        moved = [o.to(device) for o in outputs]
        return torch.stack(moved) if first.dim() == 0 else torch.cat(moved)
    if isinstance(first, Mapping):
        return type(first)({k: gather_outputs([o[k] for o in outputs], device) for k in first})  # type: ignore[call-arg]
    if isinstance(first, list | tuple):
        return type(first)(
            gather_outputs([o[i] for o in outputs], device) for i in range(len(first))
        )
    if first is None:
        return None
    return list(outputs)


def mean_of_device_values(output: Any) -> Any:
    """What 1.0 did without a `*_step_end`: average the per-device values of the output."""
    if isinstance(output, torch.Tensor):
        return output.float().mean() if output.is_floating_point() else output
    if isinstance(output, dict) and "loss" in output:
        return {**output, "loss": mean_of_device_values(output["loss"])}
    return output


class DataParallelStrategy(SingleDeviceStrategy):
    """Splits batches over `devices` (CUDA); the first device holds the model and outputs."""

    strategy_name = "dp"

    def __init__(
        self, devices: list[torch.device], precision_plugin: PrecisionPlugin | None = None
    ) -> None:
        super().__init__(devices[0], precision_plugin)
        self.devices = devices
        self._router: StepRouter | None = None

    @property
    def num_gpus(self) -> int:
        return len(self.devices)

    def setup(self, trainer: TrainerView, module: LightningModule) -> None:
        super().setup(trainer, module)
        self._router = StepRouter(module, autocast=self.precision_plugin.autocast)

    def _run_on_replicas(self, stage: str, batch: Any, *rest: Any) -> Any:
        assert self._router is not None
        pieces = split_batch(batch, self.devices)
        used = [self.devices[i] for i in range(len(pieces))]
        replicas = replicate(self._router, used, detach=not torch.is_grad_enabled())
        inputs = [(stage, piece, *rest) for piece in pieces]
        outputs = parallel_apply(replicas, inputs, devices=used)
        gathered = gather_outputs(outputs, self.root_device)
        module = self.lightning_module
        if getattr(type(module), f"{stage}_end") is getattr(_base_module(), f"{stage}_end"):
            return mean_of_device_values(gathered)
        return gathered  # the module's *_step_end receives every device's output

    def training_step(self, *args: Any) -> Any:
        return self._run_on_replicas("training_step", *args)

    def validation_step(self, *args: Any) -> Any:
        return self._run_on_replicas("validation_step", *args)

    def test_step(self, *args: Any) -> Any:
        return self._run_on_replicas("test_step", *args)

    def batch_to_device(self, batch: Any, dataloader_idx: int | None = None) -> Any:
        return batch  # split_batch places each piece on its own GPU


def _base_module() -> type:
    from trainer_core.core.module import LightningModule

    return LightningModule
