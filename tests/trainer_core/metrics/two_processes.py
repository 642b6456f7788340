"""Run a function on 2 CPU processes joined in a gloo process group, and always reap them.

The children are spawned (fresh interpreters, as Lightning's ddp_spawn does), each writes its
result to a file, and the parent waits on their exit with a deadline; on timeout or failure every
child still alive is killed and joined, so no test leaves a process behind.
"""

import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, fn: Callable[[int, int], Any], port: int, out_dir: str) -> None:
    torch.set_num_threads(1)  # two ranks share two cores with the rest of the team
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=timedelta(seconds=60),
    )
    try:
        result = fn(rank, WORLD_SIZE)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    torch.save(result, Path(out_dir) / f"rank{rank}.pt")


def run_on_two_processes(
    fn: Callable[[int, int], Any], out_dir: Path, timeout_s: float = 180.0
) -> list[Any]:
    """Return `fn(rank, world_size)` of each rank; `fn` must be importable (module level)."""
    context = mp.start_processes(
        _rank_main,
        args=(fn, free_port(), str(out_dir)),
        nprocs=WORLD_SIZE,
        join=False,
        start_method="spawn",
    )
    deadline = time.monotonic() + timeout_s
    try:
        while not context.join(timeout=0.5):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {WORLD_SIZE} ranks did not finish in {timeout_s} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
            process.join(timeout=10)
    return [torch.load(out_dir / f"rank{r}.pt") for r in range(WORLD_SIZE)]
