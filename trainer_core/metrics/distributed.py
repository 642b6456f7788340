"""Gathering metric states across ranks with torch.distributed.

A metric's `compute()` gathers every state from every rank, folds it with the state's
reduction, computes, and then resets the states (Lightning 1.0.8). The
gathers are collectives: every rank must call `compute()` (or a syncing `forward`) the same
number of times, exactly as in Lightning 1.0.
"""

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from trainer_core.metrics.state_reductions import Reduction, dim_zero_cat

GatherFn = Callable[..., list[Tensor]]
StateValue = Tensor | list[Tensor]


def distributed_ready(group: Any = None) -> bool:
    """True when there are other ranks to sync with."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group=group) > 1


def _all_gather_same_shape(tensor: Tensor, group: Any) -> list[Tensor]:
    world_size = dist.get_world_size(group=group)
    out = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(out, tensor, group=group)
    return out


def gather_all_tensors(tensor: Tensor, group: Any = None) -> list[Tensor]:
    """All-gather a tensor whose shape may differ between ranks (same number of dims).

    Collectives need equal shapes, so every rank first shares its shape, pads to the largest
    one, gathers, and trims each rank's piece back to its own shape.
    """
    is_bool = tensor.dtype == torch.bool
    # gloo has no bool all_gather; bytes carry the same information
    work = tensor.to(torch.uint8) if is_bool else tensor
    work = work.contiguous()
    if work.ndim == 0:
        gathered = _all_gather_same_shape(work, group)
    else:
        local_shape = torch.tensor(work.shape, dtype=torch.long, device=work.device)
        shapes = torch.stack(_all_gather_same_shape(local_shape, group))
        max_shape = shapes.max(dim=0).values
        if bool((shapes == max_shape).all()):
            gathered = _all_gather_same_shape(work, group)
        else:
            padded = work.new_zeros(max_shape.tolist())
            padded[tuple(slice(0, n) for n in work.shape)] = work
            gathered = [
                piece[tuple(slice(0, n) for n in shape.tolist())]
                for piece, shape in zip(_all_gather_same_shape(padded, group), shapes, strict=True)
            ]
    return [g.to(torch.bool) for g in gathered] if is_bool else gathered


def _list_state_templates(
    list_states: dict[str, list[Tensor]], group: Any
) -> dict[str, tuple[list[int], torch.dtype] | None]:
    """Row shape and dtype of each list state, agreed across ranks.

    A rank that saw no data has an empty list and cannot know what to contribute; it takes the
    row shape and dtype from a rank that did.
    """
    local: dict[str, tuple[list[int], torch.dtype] | None] = {}
    for name, rows in list_states.items():
        joined = dim_zero_cat(rows) if rows else None
        local[name] = None if joined is None else (list(joined.shape[1:]), joined.dtype)
    everyone: list[Any] = [None] * dist.get_world_size(group=group)
    dist.all_gather_object(everyone, local, group=group)
    templates: dict[str, tuple[list[int], torch.dtype] | None] = {}
    for name in list_states:
        found = [meta[name] for meta in everyone if meta[name] is not None]
        templates[name] = found[0] if found else None
    return templates


def sync_states(
    states: dict[str, StateValue],
    reductions: dict[str, Reduction | None],
    group: Any = None,
    gather_fn: GatherFn | None = None,
    device: torch.device | None = None,
) -> dict[str, StateValue]:
    """Return every state gathered from all ranks and folded with its reduction.

    Tensor states: per-rank values are stacked along a new dim 0 (concatenated for "cat") and
    reduced. List states: each rank's rows are concatenated, then all ranks' rows are joined
    in rank order; "cat" leaves a one-item list, None leaves one item per rank, and a callable
    gets the list of per-rank rows and its result becomes the state. `device` is where a rank
    with an empty list state builds its (empty) contribution.
    """
    gather = gather_fn or gather_all_tensors
    list_states = {n: v for n, v in states.items() if isinstance(v, list)}
    templates = _list_state_templates(list_states, group) if list_states else {}
    synced: dict[str, StateValue] = {}
    for name, value in states.items():
        reduce = reductions[name]
        if isinstance(value, Tensor):
            gathered = gather(value, group=group)
            if reduce is dim_zero_cat:
                synced[name] = dim_zero_cat(gathered)
            else:
                stacked = torch.stack(gathered)
                synced[name] = reduce(stacked) if reduce is not None else stacked
            continue
        template = templates[name]
        if template is None:  # no rank has seen data for this state
            synced[name] = []
            continue
        row_shape, dtype = template
        local_rows = (
            dim_zero_cat(value)
            if value
            else torch.empty([0, *row_shape], dtype=dtype, device=device)
        )
        per_rank = gather(local_rows, group=group)
        if reduce is None:
            synced[name] = per_rank
        elif reduce is dim_zero_cat:
            synced[name] = [dim_zero_cat(per_rank)]
        else:  # a callable folds the list of per-rank rows, as in Lightning 1.0.8
            synced[name] = reduce(per_rank)  # type: ignore[arg-type]
    return synced
