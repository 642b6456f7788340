"""Which slots a worker advertises."""


def detect_slots(declared: int | None) -> tuple[str, ...]:
    """Slot ids as CUDA ordinals ("0", "1", ...).

    `declared` (RUNYARD_WORKER_GPUS) wins, so scheduling can be exercised on a CPU-only
    machine; otherwise the CUDA devices torch sees; a machine with none still offers one slot,
    because a CPU-only run reserves one slot per node.
    """
    if declared is not None:
        return tuple(str(i) for i in range(declared))
    import torch  # late: only a worker that has to look at its devices pays for the import

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return tuple(str(i) for i in range(max(count, 1)))


def gpu_names(slots: tuple[str, ...]) -> list[str]:
    """The CUDA device name behind each slot, for the worker list; empty on CPU-only machines
    (declared slots have no device behind them)."""
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    return [torch.cuda.get_device_name(int(s)) for s in slots if s.isdigit() and int(s) < count]
