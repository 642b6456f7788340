"""`DDP2Strategy` (`ddp2`): one process per node, `dp` across that node's GPUs, gradients
averaged across nodes.

Lightning 1.0's ddp2 lets `training_step_end` see the outputs of every GPU of the node (for
losses that need the whole node's batch, e.g. contrastive ones). Each node reads its own share
of the data (the sampler splits by node), runs the `dp` split/gather inside the node, and
averages gradients over nodes after backward. Needs CUDA on every node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from trainer_core.strategies import collectives
from trainer_core.strategies.ddp import DDPStrategy, StepRouter
from trainer_core.strategies.dp import DataParallelStrategy
from trainer_core.strategies.environment import ClusterEnvironment

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.precision import PrecisionPlugin
    from trainer_core.trainer.view import TrainerView


class DDP2Strategy(DDPStrategy):
    strategy_name = "ddp2"

    def __init__(
        self,
        node_devices: list[torch.device],
        num_nodes: int = 1,
        cluster_environment: ClusterEnvironment | None = None,
        precision_plugin: PrecisionPlugin | None = None,
    ) -> None:
        # one process per node: its "device" is the node's first GPU
        super().__init__([node_devices[0]], num_nodes, cluster_environment, precision_plugin)
        self._in_node = DataParallelStrategy(node_devices, self.precision_plugin)

    @property
    def num_gpus(self) -> int:
        return len(self._in_node.devices)

    def setup(self, trainer: TrainerView, module: LightningModule) -> None:
        super().setup(trainer, module)
        self._in_node.precision_plugin = self.precision_plugin
        self._in_node._lightning_module = module
        self._in_node._model = module
        self._in_node._router = StepRouter(module, autocast=self.precision_plugin.autocast)

    def _wrap(self, trainer: TrainerView, module: LightningModule) -> torch.nn.Module:
        # replicas cannot live inside DistributedDataParallel: sync gradients ourselves
        self._sync_explicitly = not trainer.testing
        collectives.broadcast_module(module)
        return module

    def training_step(self, *args: Any) -> Any:
        return self._in_node.training_step(*args)

    def validation_step(self, *args: Any) -> Any:
        return self._in_node.validation_step(*args)

    def test_step(self, *args: Any) -> Any:
        return self._in_node.test_step(*args)

    def batch_to_device(self, batch: Any, dataloader_idx: int | None = None) -> Any:
        return batch
