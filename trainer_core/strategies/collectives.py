"""The torch.distributed calls the distributed strategies share (no-ops without a group)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist

from trainer_core.exceptions import MisconfigurationException

_OPS = {
    "sum": dist.ReduceOp.SUM,
    "mean": dist.ReduceOp.SUM,  # divided by the world size afterwards
    "avg": dist.ReduceOp.SUM,
    "max": dist.ReduceOp.MAX,
    "min": dist.ReduceOp.MIN,
}


def group_ready() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def comm_device() -> torch.device:
    """Where tensors must live for the backend's collectives (NCCL: the current GPU)."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def reduce_tensor(tensor: torch.Tensor, op: str | Any = "mean") -> torch.Tensor:
    """`tensor` reduced over every rank with `op` ('mean', 'sum', 'max', 'min')."""
    if not group_ready():
        return tensor
    name = op.lower() if isinstance(op, str) else op
    if isinstance(name, str) and name not in _OPS:
        raise MisconfigurationException(
            f"sync_dist_op={op!r} is not known; use 'mean', 'sum', 'max' or 'min'."
        )
    reduce_op = _OPS[name] if isinstance(name, str) else name
    # float64 on the wire keeps a mean of float32 values as exact as one process computes it
    work = tensor.detach().to(comm_device(), dtype=torch.float64, copy=True)
    dist.all_reduce(work, op=reduce_op)
    if name in ("mean", "avg"):
        work /= dist.get_world_size()
    out_dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
    return work.to(tensor.device, dtype=out_dtype)


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Replace every gradient by its mean over all ranks, in one flattened all-reduce.

    Used where DistributedDataParallel cannot sync for us (manual optimization runs backward
    inside training_step; ddp2 computes on replicas). Every rank passes the same parameters in
    the same order; a missing gradient counts as zeros so the buffer shapes always agree.
    """
    if not group_ready():
        return
    params = [p for p in parameters if p.requires_grad]
    if not params:
        return
    device = comm_device()
    flat = torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).detach().reshape(-1).to(device)
            for p in params
        ]
    )
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for p in params:
        n = p.numel()
        if p.grad is not None:
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def broadcast_module(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank `src`'s parameters and buffers into every rank's module."""
    if not group_ready():
        return
    device = comm_device()
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            work = tensor.detach().to(device, copy=True)
            dist.broadcast(work, src)
            tensor.copy_(work)


# How long the rank hosting the rendezvous store waits at teardown for the other ranks to
# close their groups; a rank that died before the end never reports, so this bounds the wait.
TEARDOWN_WAIT_S = 30.0
_CLOSED_KEY = "trainer_core/ranks_closed"


def destroy_process_group(wait_for_peers: bool = True, timeout_s: float = TEARDOWN_WAIT_S) -> None:
    """End this process's process group, in order, if it still has one.

    Called when a rank is done (at interpreter exit for script-started ranks, before a spawned
    rank returns). A gloo/NCCL group, or the TCPStore it rendezvoused through, left alive until
    C++ static destruction still owns worker threads, and destroying a joinable std::thread
    aborts the process ("terminate called without an active exception") after a run that
    trained fine. So every rank ends its group while Python still runs, in this order:
    1. collect garbage, so DistributedDataParallel reducers (which hold the group) are gone;
    2. every rank but 0 destroys its group, then tells the store it has;
    3. rank 0, whose process serves the TCPStore, waits until all have (at most `timeout_s`;
       skipped with `wait_for_peers=False`, for a run that failed), then destroys its group;
    4. the last reference to the store goes here, so its threads are joined now, not at exit.
    The run's collectives are all done by then (every launch ends with a barrier), so no rank
    can be left waiting on a peer that has already closed.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    rank, world_size = dist.get_rank(), dist.get_world_size()
    store = _default_store() if world_size > 1 else None
    gc.collect()
    try:
        if rank != 0 or store is None:
            dist.destroy_process_group()
            if store is not None:
                store.add(_CLOSED_KEY, 1)
            return
        if wait_for_peers:
            _wait_for_count(store, world_size - 1, timeout_s)
        dist.destroy_process_group()
    except RuntimeError:
        # the store's host already went away (a peer failed and was stopped): nothing to wait for
        if dist.is_initialized():
            dist.destroy_process_group()
    finally:
        del store
        gc.collect()


def _default_store() -> Any:
    """The default group's store (torch keeps it privately; None where it does not)."""
    getter = getattr(dist.distributed_c10d, "_get_default_store", None)
    try:
        return getter() if getter is not None else None
    except (RuntimeError, ValueError):
        return None


def _wait_for_count(store: Any, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while store.add(_CLOSED_KEY, 0) < count and time.monotonic() < deadline:
        time.sleep(0.02)
