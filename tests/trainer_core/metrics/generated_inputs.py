"""Hypothesis strategies for metric inputs.

Hypothesis draws the sizes and a seed; torch draws the values from that seed. Continuous random
scores never tie, so argmax/top-k/threshold decisions are the same in any implementation.
"""

from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch import Tensor


@dataclass(frozen=True)
class Sizes:
    seed: int
    batch_sizes: tuple[int, ...]
    num_classes: int


def sizes(min_classes: int = 2, max_classes: int = 6, max_batch: int = 24) -> st.SearchStrategy:
    return st.builds(
        Sizes,
        seed=st.integers(0, 2**31 - 1),
        batch_sizes=st.lists(st.integers(1, max_batch), min_size=1, max_size=4).map(tuple),
        num_classes=st.integers(min_classes, max_classes),
    )


def _every_class_present(gen: torch.Generator, n: int, num_classes: int) -> Tensor:
    """Labels in which every class occurs (when n allows), so per-class scores are defined."""
    labels = torch.randint(0, num_classes, (n,), generator=gen)
    head = min(n, num_classes)
    labels[:head] = torch.arange(head)
    return labels[torch.randperm(n, generator=gen)]


def binary_batches(s: Sizes) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(s.seed)
    return [(torch.rand(n, generator=gen), _every_class_present(gen, n, 2)) for n in s.batch_sizes]


def multiclass_score_batches(s: Sizes, logits: bool) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(s.seed)
    out = []
    for n in s.batch_sizes:
        scores = torch.randn(n, s.num_classes, generator=gen) * 3
        preds = scores if logits else scores.softmax(dim=1)
        out.append((preds, _every_class_present(gen, n, s.num_classes)))
    return out


def multiclass_label_batches(s: Sizes) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(s.seed)
    return [
        (
            torch.randint(0, s.num_classes, (n,), generator=gen),
            _every_class_present(gen, n, s.num_classes),
        )
        for n in s.batch_sizes
    ]


def multilabel_batches(s: Sizes) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(s.seed)
    return [
        (
            torch.rand(n, s.num_classes, generator=gen),
            torch.randint(0, 2, (n, s.num_classes), generator=gen),
        )
        for n in s.batch_sizes
    ]


def regression_batches(s: Sizes, outputs: int = 1) -> list[tuple[Tensor, Tensor]]:
    """float64 values: the comparison at 1e-6 should test the formula, not float32 rounding."""
    gen = torch.Generator().manual_seed(s.seed)
    shape = (lambda n: (n,)) if outputs == 1 else (lambda n: (n, outputs))
    out = []
    for n in s.batch_sizes:
        target = torch.randn(*shape(n), generator=gen, dtype=torch.float64) * 2
        preds = target + torch.randn(*shape(n), generator=gen, dtype=torch.float64)
        out.append((preds, target))
    return out


def multiclass_extra_dim_batches(s: Sizes, extra: int = 3) -> list[tuple[Tensor, Tensor]]:
    """Class scores (N, C, extra) with labels (N, extra), e.g. per-position tagging."""
    gen = torch.Generator().manual_seed(s.seed)
    return [
        (
            torch.randn(n, s.num_classes, extra, generator=gen),
            torch.randint(0, s.num_classes, (n, extra), generator=gen),
        )
        for n in s.batch_sizes
    ]
