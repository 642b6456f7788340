"""Strategies: where and how the model runs (one device, dp, ddp, ddp_spawn/ddp_cpu, ddp2)."""

from trainer_core.strategies.base import Strategy
from trainer_core.strategies.ddp import DDPStrategy
from trainer_core.strategies.ddp2 import DDP2Strategy
from trainer_core.strategies.ddp_spawn import DDPSpawnStrategy
from trainer_core.strategies.dp import DataParallelStrategy
from trainer_core.strategies.environment import ClusterEnvironment
from trainer_core.strategies.errors import DistributedRunError
from trainer_core.strategies.selection import (
    DISTRIBUTED_BACKENDS,
    SUPPORTED_DISTRIBUTED,
    parse_gpu_ids,
    select_strategy,
)
from trainer_core.strategies.single_device import SingleDeviceStrategy

__all__ = [
    "DISTRIBUTED_BACKENDS",
    "SUPPORTED_DISTRIBUTED",
    "ClusterEnvironment",
    "DDP2Strategy",
    "DDPSpawnStrategy",
    "DDPStrategy",
    "DataParallelStrategy",
    "DistributedRunError",
    "SingleDeviceStrategy",
    "Strategy",
    "parse_gpu_ids",
    "select_strategy",
]
