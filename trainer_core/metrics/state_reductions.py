"""How a metric state gathered from every rank is folded back into one state.

Each reduction takes the per-rank values stacked (tensor states) or concatenated (list states)
along dim 0, which is the layout `add_state(dist_reduce_fx=...)` documents.
"""

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError

Reduction = Callable[[Tensor], Tensor]


def dim_zero_cat(values: Tensor | Sequence[Tensor]) -> Tensor:
    """Concatenate a list state (or pass a tensor through); 0-d items count as one row each."""
    if isinstance(values, Tensor):
        return values
    if len(values) == 0:
        raise MetricDefinitionError(
            "cannot concatenate an empty list state; call update() before compute()"
        )
    return torch.cat([torch.atleast_1d(v) for v in values], dim=0)


def dim_zero_sum(values: Tensor) -> Tensor:
    return values.sum(dim=0)


def dim_zero_mean(values: Tensor) -> Tensor:
    # integer counts averaged over ranks are not integers any more
    if not values.is_floating_point():
        values = values.double()
    return values.mean(dim=0)


def dim_zero_max(values: Tensor) -> Tensor:
    return values.max(dim=0).values


def dim_zero_min(values: Tensor) -> Tensor:
    return values.min(dim=0).values


NAMED_REDUCTIONS: dict[str, Reduction] = {
    "sum": dim_zero_sum,
    "mean": dim_zero_mean,
    "cat": dim_zero_cat,
    "max": dim_zero_max,
    "min": dim_zero_min,
}


def resolve_reduction(dist_reduce_fx: str | Reduction | None) -> Reduction | None:
    """Turn the `dist_reduce_fx` argument of `add_state` into a function (or None: keep stacked)."""
    if dist_reduce_fx is None or callable(dist_reduce_fx):
        return dist_reduce_fx
    if isinstance(dist_reduce_fx, str) and dist_reduce_fx in NAMED_REDUCTIONS:
        return NAMED_REDUCTIONS[dist_reduce_fx]
    raise MetricDefinitionError(
        f"dist_reduce_fx={dist_reduce_fx!r} is not a known reduction; use one of "
        f"{sorted(NAMED_REDUCTIONS)}, a callable taking the stacked per-rank values, or None"
    )
