"""Run one of our metrics and its torchmetrics twin over the same batches and compare.

Both are fed batch by batch through `forward` (the per-batch value), then compared on
`compute()` over everything seen, and the functional twin is compared with the class on each
batch, so class, functional and oracle all agree.
"""

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

ATOL = 1e-6


def assert_close(ours: Any, theirs: Any, what: str) -> None:
    ours_t = torch.as_tensor(ours).double()
    theirs_t = torch.as_tensor(theirs).double()
    assert ours_t.shape == theirs_t.shape, f"{what}: shape {ours_t.shape} vs {theirs_t.shape}"
    assert torch.allclose(ours_t, theirs_t, atol=ATOL, rtol=0, equal_nan=True), (
        f"{what}: ours {ours_t} vs torchmetrics {theirs_t}"
    )


def check_against_oracle(
    ours: Any,
    theirs: Any,
    batches: Sequence[tuple[Tensor, Tensor]],
    functional: Callable[[Tensor, Tensor], Any] | None = None,
) -> None:
    for i, (preds, target) in enumerate(batches):
        ours_value = ours(preds, target)
        assert_close(ours_value, theirs(preds, target), f"batch {i}")
        if functional is not None:
            assert_close(functional(preds, target), ours_value, f"functional, batch {i}")
    assert_close(ours.compute(), theirs.compute(), "accumulated")
