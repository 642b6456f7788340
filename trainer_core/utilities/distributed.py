"""`rank_zero_only` and friends: run (or print) only on global rank 0.

The 1.0 docs' way to write a custom logger decorates `log_metrics` with `@rank_zero_only`.
The rank is read when the function is called, not stored at import: the process group's rank
when one is up, else the launcher's `LOCAL_RANK`/`NODE_RANK` variables (rank 0 without them).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch.distributed as dist

F = TypeVar("F", bound=Callable[..., Any])


def current_rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    if os.environ.get("NODE_RANK", "0") not in ("", "0"):
        return 1  # some rank on another node: not global zero
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def rank_zero_only(fn: F) -> F:
    """Call `fn` on global rank 0 only (returns None elsewhere)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_rank() == 0:
            return fn(*args, **kwargs)
        return None

    return wrapped  # type: ignore[return-value]


@rank_zero_only
def rank_zero_warn(*args: Any, **kwargs: Any) -> None:
    warnings.warn(*args, **kwargs)


@rank_zero_only
def rank_zero_info(*args: Any, **kwargs: Any) -> None:
    print(*args, **kwargs)
