"""Ranks end in order: the rank that serves the rendezvous store closes its process group
last, after every other rank has closed its own, so no rank's group or store threads are left
to C++ static destruction (a "terminate called without an active exception" abort at exit)."""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any

import torch.distributed as dist

from trainer_core.strategies import collectives
from trainer_core.strategies.environment import find_free_port

GROUP_TIMEOUT_S = 60.0


def _rank(rank: int, port: int, events: Any, release: Any) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    dist.barrier()
    events.put(("enter", rank))
    if rank == 1:
        release.wait(GROUP_TIMEOUT_S)  # rank 1 closes only when the test lets it
    collectives.destroy_process_group()
    events.put(("left", rank, dist.is_initialized()))


def _next(events: Any) -> tuple[Any, ...]:
    item: tuple[Any, ...] = events.get(timeout=GROUP_TIMEOUT_S)
    return item


def test_the_store_host_closes_its_group_only_after_the_other_ranks() -> None:
    context = multiprocessing.get_context("spawn")
    events, release = context.Queue(), context.Event()
    port = find_free_port()
    ranks = [context.Process(target=_rank, args=(r, port, events, release)) for r in (0, 1)]
    for process in ranks:
        process.start()
    try:
        assert {_next(events), _next(events)} == {("enter", 0), ("enter", 1)}
        # rank 1 has not closed yet, so rank 0 must still be waiting for it
        try:
            early = events.get(timeout=1.0)
        except queue.Empty:
            early = None
        assert early is None
        release.set()
        # both close once rank 1 may (which of the two reports first is a race)
        assert {_next(events), _next(events)} == {("left", 1, False), ("left", 0, False)}
        for process in ranks:
            process.join(GROUP_TIMEOUT_S)
        assert [process.exitcode for process in ranks] == [0, 0]
    finally:
        for process in ranks:
            if process.is_alive():
                process.kill()
