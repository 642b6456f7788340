"""Choosing the strategy from the 1.0 Trainer flags (`gpus`, `accelerator`, `devices`, ...).

Only single-process strategies exist so far; the distributed names are recognised and refused
with a message naming the flag, so a spec that asks for them fails fast and clearly.
"""

import torch

from trainer_core.exceptions import MisconfigurationException
from trainer_core.strategies.base import Strategy
from trainer_core.strategies.single_device import SingleDeviceStrategy

__all__ = [
    "DISTRIBUTED_BACKENDS",
    "SingleDeviceStrategy",
    "Strategy",
    "parse_gpu_ids",
    "select_strategy",
]

# Lightning 1.0 accelerator names that need more than one process or device.
DISTRIBUTED_BACKENDS = frozenset(
    {"dp", "ddp", "ddp_spawn", "ddp2", "ddp_cpu", "horovod", "ddp_sharded", "ddp_sharded_spawn"}
)
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
    """The strategy for these flags: single CPU or single GPU; distributed ones are refused."""
    if distributed_backend is not None:
        if accelerator is not None and accelerator != distributed_backend:
            raise MisconfigurationException(
                f"accelerator={accelerator!r} and distributed_backend={distributed_backend!r} disagree; "
                "pass only accelerator (distributed_backend is its deprecated alias)."
            )
        accelerator = distributed_backend
    name = accelerator.lower() if isinstance(accelerator, str) else accelerator
    if name in DISTRIBUTED_BACKENDS:
        raise MisconfigurationException(
            f"accelerator={accelerator!r}: the {name} strategy is not available in trainer_core yet. "
            "Run on one device for now: drop the accelerator flag and use gpus=0 (CPU) or gpus=1."
        )
    if name is not None and name not in _DEVICE_ACCELERATORS:
        raise MisconfigurationException(
            f"accelerator={accelerator!r} is not known. Use 'cpu', 'gpu' or 'auto' "
            f"(distributed names: {sorted(DISTRIBUTED_BACKENDS)})."
        )
    if num_nodes != 1:
        raise MisconfigurationException(
            f"num_nodes={num_nodes}: multi-node training is not available in trainer_core yet; use num_nodes=1."
        )
    if num_processes != 1:
        raise MisconfigurationException(
            f"num_processes={num_processes}: several processes (ddp_cpu) are not available in trainer_core yet; "
            "use num_processes=1."
        )

    gpu_ids: list[int]
    if name == "cpu":
        if devices not in (None, 1, "1", "auto"):
            raise MisconfigurationException(
                f"devices={devices!r} with accelerator='cpu' means several processes (ddp_cpu), which trainer_core "
                "does not run yet; use devices=1."
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
                f"devices={devices!r} without accelerator='gpu' means several CPU processes, which trainer_core "
                "does not run yet; use devices=1 or accelerator='gpu'."
            )
    if len(gpu_ids) > 1:
        raise MisconfigurationException(
            f"gpus/devices={gpus if gpus is not None else devices!r} selects {len(gpu_ids)} GPUs, which needs a "
            "distributed strategy (ddp/dp) that trainer_core does not have yet; use gpus=1."
        )
    device = torch.device("cuda", gpu_ids[0]) if gpu_ids else torch.device("cpu")
    return SingleDeviceStrategy(device)
