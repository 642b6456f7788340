"""Choosing the strategy from the 1.0 Trainer flags (`gpus`, `accelerator`, `devices`,
`num_processes`, `num_nodes`, `distributed_backend`).

`dp` and `ddp2` need CUDA devices and say so on a machine without them (never a silent
fallback to one device); `ddp`, `ddp_spawn` run on GPUs when `gpus` is given and otherwise on
`num_processes` CPU processes; `ddp_cpu` is `ddp_spawn` on CPU processes.
"""

import warnings

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.strategies.base import Strategy
from trainer_core.strategies.ddp import DDPStrategy
from trainer_core.strategies.ddp2 import DDP2Strategy
from trainer_core.strategies.ddp_spawn import DDPSpawnStrategy
from trainer_core.strategies.dp import DataParallelStrategy
from trainer_core.strategies.environment import ClusterEnvironment
from trainer_core.strategies.single_device import SingleDeviceStrategy

# Lightning 1.0 accelerator names that need more than one process or device.
DISTRIBUTED_BACKENDS = frozenset(
    {"dp", "ddp", "ddp_spawn", "ddp2", "ddp_cpu", "horovod", "ddp_sharded", "ddp_sharded_spawn"}
)
SUPPORTED_DISTRIBUTED = frozenset({"dp", "ddp", "ddp_spawn", "ddp2", "ddp_cpu"})
_DEVICE_ACCELERATORS = frozenset({"cpu", "gpu", "cuda", "auto"})

GpuFlag = int | str | list[int] | tuple[int, ...] | None


def parse_gpu_ids(gpus: GpuFlag) -> list[int]:
    """Turn a 1.0 `gpus` value (count, -1, "0,1", "-1", list of ids) into CUDA device ids."""
    if gpus is None:
        return []
    if isinstance(gpus, str):
        text = gpus.strip()
        if text in ("", "0"):
            return []
        if "," in text:
            ids = [int(part) for part in text.split(",") if part.strip()]
            return _check_available(ids, gpus)
        gpus = int(text)
    if isinstance(gpus, bool):
        raise MisconfigurationException(
            f"gpus={gpus!r}: pass a count (1), -1 for all, or a list of ids."
        )
    if isinstance(gpus, int):
        if gpus == 0:
            return []
        available = torch.cuda.device_count()
        if gpus == -1:
            return _check_available(list(range(available)), gpus)
        if gpus < -1:
            raise MisconfigurationException(
                f"gpus={gpus} is invalid: use a count >= 0, -1 for all, or a list of ids."
            )
        return _check_available(list(range(gpus)), gpus)
    return _check_available([int(i) for i in gpus], gpus)


def _check_available(ids: list[int], flag: object) -> list[int]:
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not ids or any(i < 0 or i >= available for i in ids):
        raise MisconfigurationException(
            f"gpus={flag!r} asks for CUDA devices {ids or 'all'}, but this machine has {available}. "
            "Use gpus=0 (CPU) or request at most the GPUs that exist."
        )
    return ids


def select_strategy(
    accelerator: str | None = None,
    gpus: GpuFlag = None,
    devices: GpuFlag = None,
    num_processes: int = 1,
    num_nodes: int = 1,
    distributed_backend: str | None = None,
) -> Strategy:
    """The strategy for these flags (single device, dp, ddp, ddp_spawn, ddp2, ddp_cpu)."""
    if distributed_backend is not None:
        if accelerator is not None and accelerator != distributed_backend:
            raise MisconfigurationException(
                f"accelerator={accelerator!r} and distributed_backend={distributed_backend!r} disagree; "
                "pass only accelerator (distributed_backend is its deprecated alias)."
            )
        accelerator = distributed_backend
    name = accelerator.lower() if isinstance(accelerator, str) else accelerator
    _check_count("num_nodes", num_nodes)
    _check_count("num_processes", num_processes)
    if name is None and num_processes > 1:
        # Lightning 1.0 did the same: several processes without a backend means ddp_cpu
        warnings.warn(
            f"num_processes={num_processes} without accelerator: using accelerator='ddp_cpu'.",
            stacklevel=4,
        )
        name = "ddp_cpu"
    if name in SUPPORTED_DISTRIBUTED:
        return _distributed(name, gpus if gpus is not None else devices, num_processes, num_nodes)
    if name in DISTRIBUTED_BACKENDS:
        raise MisconfigurationException(
            f"accelerator={accelerator!r} is not available in trainer_core; use one of "
            f"{sorted(SUPPORTED_DISTRIBUTED)}."
        )
    if name is not None and name not in _DEVICE_ACCELERATORS:
        raise MisconfigurationException(
            f"accelerator={accelerator!r} is not known. Use 'cpu', 'gpu' or 'auto' "
            f"(distributed names: {sorted(SUPPORTED_DISTRIBUTED)})."
        )
    if num_nodes != 1:
        raise MisconfigurationException(
            f"num_nodes={num_nodes} needs a distributed strategy: add accelerator='ddp' (or 'ddp2')."
        )
    if num_processes != 1:
        raise MisconfigurationException(
            f"num_processes={num_processes} with accelerator={accelerator!r}: several processes need "
            "accelerator='ddp_cpu' (or 'ddp')."
        )
    return _single_device(name, gpus, devices)


def _check_count(flag: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MisconfigurationException(f"{flag}={value!r}: use an int >= 1.")


def _distributed(name: str, gpus: GpuFlag, num_processes: int, num_nodes: int) -> Strategy:
    try:
        gpu_ids = [] if name == "ddp_cpu" else _gpu_ids_for(name, gpus)
    except MisconfigurationException as exc:
        if name not in ("dp", "ddp2"):
            raise
        gpu_ids, reason = [], f"gpus={gpus!r} asks for GPUs that are not there ({exc})"
    else:
        reason = f"gpus={gpus!r} selects none"
    if name in ("dp", "ddp2") and not gpu_ids:
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise MisconfigurationException(
            f"accelerator={name!r} splits each batch over CUDA GPUs, but {reason} (this machine has "
            f"{available}). Run it on a machine with GPUs (e.g. gpus=2), or train on CPU processes with "
            "accelerator='ddp_cpu' and num_processes=2."
        )
    if (
        name in ("ddp", "ddp_spawn")
        and not gpu_ids
        and num_processes == 1
        and num_nodes == 1
        and ClusterEnvironment.from_env().world_size is None
    ):
        # Lightning 1.0: ddp over one CPU process on one node is no ddp, just this process
        # (a launcher's WORLD_SIZE still goes to DDPStrategy, which checks it against the flags)
        return SingleDeviceStrategy(torch.device("cpu"))
    devices = [torch.device("cuda", i) for i in gpu_ids]
    if not devices:
        devices = [torch.device("cpu")] * num_processes
    if name == "dp":
        if num_nodes != 1:
            raise MisconfigurationException(
                f"accelerator='dp' runs on one node; num_nodes={num_nodes} needs accelerator='ddp' or 'ddp2'."
            )
        return DataParallelStrategy(devices)
    if name == "ddp2":
        return DDP2Strategy(devices, num_nodes)
    if name == "ddp":
        return DDPStrategy(devices, num_nodes)
    return DDPSpawnStrategy(devices, num_nodes)


def _gpu_ids_for(name: str, gpus: GpuFlag) -> list[int]:
    if gpus in (None, 0, "0", [], ()):
        return []
    return parse_gpu_ids(gpus)


def _single_device(name: str | None, gpus: GpuFlag, devices: GpuFlag) -> Strategy:
    gpu_ids: list[int]
    if name == "cpu":
        if devices not in (None, 1, "1", "auto"):
            raise MisconfigurationException(
                f"devices={devices!r} with accelerator='cpu' means several processes: use "
                f"accelerator='ddp_cpu', num_processes={devices!r}."
            )
        if gpus:
            raise MisconfigurationException(
                f"accelerator='cpu' conflicts with gpus={gpus!r}; pass one of them."
            )
        gpu_ids = []
    elif name in ("gpu", "cuda"):
        gpu_ids = parse_gpu_ids(
            devices if devices is not None else (gpus if gpus is not None else 1)
        )
    elif name == "auto":
        gpu_ids = [0] if torch.cuda.is_available() else []
    else:
        if devices is not None and gpus is not None:
            raise MisconfigurationException("Pass either gpus or devices, not both.")
        gpu_ids = parse_gpu_ids(
            gpus if gpus is not None else devices if isinstance(devices, list) else None
        )
        if (
            devices is not None
            and not isinstance(devices, list)
            and devices not in (1, "1", "auto")
        ):
            raise MisconfigurationException(
                f"devices={devices!r} without accelerator='gpu' means several CPU processes: use "
                f"accelerator='ddp_cpu', num_processes={devices!r}, or accelerator='gpu'."
            )
    if len(gpu_ids) > 1:
        raise MisconfigurationException(
            f"gpus/devices={gpus if gpus is not None else devices!r} selects {len(gpu_ids)} GPUs: pick how to use "
            "them with accelerator='ddp' (one process per GPU, recommended) or 'dp', or use gpus=1."
        )
    device = torch.device("cuda", gpu_ids[0]) if gpu_ids else torch.device("cpu")
    return SingleDeviceStrategy(device)
