"""What each rank does in the synced-metric tests, and the data both sides agree on.

Imported by the spawned ranks, so it stays light: torch and trainer_core only.
"""

from typing import Any

import torch
from torch import Tensor

from tests.trainer_core.metrics.test_seed_custom_metric import MyAccuracy
from trainer_core.metrics import AUROC, F1, Accuracy, ConfusionMatrix, Metric


def logits_batches(seed: int, sizes: list[int], classes: int = 5) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(n, classes, generator=gen), torch.randint(0, classes, (n,), generator=gen))
        for n in sizes
    ]


# Each rank takes every other batch, as a DistributedSampler would.
EVEN_BATCHES = [16] * 6
# Ranks see different amounts of data: list states have different lengths per rank.
UNEVEN_BATCHES = [16, 3, 16, 16, 7]


class Rows(Metric):
    """Keeps every value seen (a "cat" list state) and reports their mean and count."""

    def __init__(self) -> None:
        super().__init__()
        self.add_state("values", [], dist_reduce_fx="cat")

    def update(self, values: Tensor) -> None:
        self.values.append(values)

    def compute(self) -> Tensor:
        joined = torch.cat(self.values) if self.values else torch.zeros(0)
        return torch.stack([joined.mean(), torch.tensor(float(joined.numel()))])


class Extremes(Metric):
    """One state per named reduction plus a callable one."""

    def __init__(self) -> None:
        super().__init__()
        self.add_state("high", torch.tensor(float("-inf")), dist_reduce_fx="max")
        self.add_state("low", torch.tensor(float("inf")), dist_reduce_fx="min")
        self.add_state("avg", torch.tensor(0.0), dist_reduce_fx="mean")
        self.add_state("spread", torch.tensor(0.0), dist_reduce_fx=_range_over_ranks)
        self.add_state("stacked", torch.zeros(2), dist_reduce_fx=None)

    def update(self, value: Tensor) -> None:
        self.high = torch.maximum(self.high, value)
        self.low = torch.minimum(self.low, value)
        self.avg = value.clone()
        self.spread = value.clone()
        self.stacked = torch.stack([value, value * 10])

    def compute(self) -> dict[str, Tensor]:
        return {
            "high": self.high,
            "low": self.low,
            "avg": self.avg,
            "spread": self.spread,
            "stacked": self.stacked,
        }


def _range_over_ranks(stacked: Tensor) -> Tensor:
    return stacked.max(dim=0).values - stacked.min(dim=0).values


def my_accuracy_synced(rank: int, world: int) -> dict[str, Any]:
    batches = logits_batches(0, EVEN_BATCHES)
    metric = MyAccuracy()
    for logits, y in batches[rank::world][:-1]:
        metric(logits, y)
    local_total_before = metric.total.clone()
    before_last = metric.compute()
    local_total_after = metric.total.clone()
    logits, y = batches[rank::world][-1]
    metric(logits, y)
    return {
        "before_last": before_last,
        "local_total_before": local_total_before,
        "local_total_after": local_total_after,
        "last": metric.compute(),
    }


def accuracy_synced_on_step(rank: int, world: int) -> list[Tensor]:
    metric = Accuracy(dist_sync_on_step=True)
    return [metric(logits, y) for logits, y in logits_batches(1, EVEN_BATCHES)[rank::world]]


def rows_uneven(rank: int, world: int) -> Tensor:
    metric = Rows()
    for logits, _ in logits_batches(2, UNEVEN_BATCHES)[rank::world]:
        metric.update(logits[:, 0])
    return metric.compute()


def rows_rank_one_empty(rank: int, world: int) -> Tensor:
    metric = Rows()
    if rank == 0:
        for logits, _ in logits_batches(3, UNEVEN_BATCHES):
            metric.update(logits[:, 0])
    return metric.compute()


def extremes(rank: int, world: int) -> dict[str, Tensor]:
    metric = Extremes()
    metric.update(torch.tensor(float(rank + 1)))  # rank 0 sees 1.0, rank 1 sees 2.0
    return metric.compute()


def auroc_uneven(rank: int, world: int) -> Tensor:
    metric = AUROC(num_classes=5, average="weighted")
    for logits, y in logits_batches(4, UNEVEN_BATCHES)[rank::world]:
        metric.update(logits.softmax(dim=1), y)
    return metric.compute()


def auroc_rank_one_empty(rank: int, world: int) -> Tensor:
    metric = AUROC()
    if rank == 0:
        for logits, y in logits_batches(5, UNEVEN_BATCHES):
            metric.update(logits[:, 0], (y > 1).long())
    return metric.compute()


def f1_macro_and_confusion_matrix(rank: int, world: int) -> dict[str, Tensor]:
    f1, confmat = F1(num_classes=5, average="macro"), ConfusionMatrix(5, normalize="true")
    for logits, y in logits_batches(6, EVEN_BATCHES)[rank::world]:
        f1(logits, y)
        confmat(logits, y)
    return {"f1": f1.compute(), "confmat": confmat.compute()}


def local_twice(tensor: Tensor, group: Any = None) -> list[Tensor]:
    """A stand-in gather that pretends every rank holds this rank's state."""
    return [tensor, tensor]


def custom_gather_and_group(rank: int, world: int) -> dict[str, Tensor]:
    group = torch.distributed.new_group(ranks=[0, 1])  # collective: every rank creates it
    twice = ConfusionMatrix(5, dist_sync_fn=local_twice)
    in_group = ConfusionMatrix(5, process_group=group)
    for logits, y in logits_batches(7, EVEN_BATCHES)[rank::world]:
        twice.update(logits, y)
        in_group.update(logits, y)
    local = twice.confmat.clone()  # compute() resets the states
    return {"twice": twice.compute(), "local": local, "in_group": in_group.compute()}


def sync_dist_with_torch_reductions(rank: int, world: int) -> dict[str, Any]:
    """`_sync_dist()` over states set by hand, reduced by plain torch functions."""
    metric = Rows()
    metric._reductions = {"count": torch.sum, "seen": torch.cat}
    metric.count = torch.tensor(rank + 1)
    metric.seen = [torch.tensor([rank]), torch.tensor([10 + rank])]
    metric._sync_dist()
    return {"count": metric.count, "seen": metric.seen}


SCENARIOS = (
    sync_dist_with_torch_reductions,
    custom_gather_and_group,
    auroc_uneven,
    auroc_rank_one_empty,
    f1_macro_and_confusion_matrix,
    my_accuracy_synced,
    accuracy_synced_on_step,
    rows_uneven,
    rows_rank_one_empty,
    extremes,
)


def run_all(rank: int, world: int) -> dict[str, Any]:
    """One spawn for every scenario: starting processes costs far more than the scenarios."""
    return {fn.__name__: fn(rank, world) for fn in SCENARIOS}


def rank_one_raises(rank: int, world: int) -> None:
    if rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    # rank 0 waits in a collective that rank 1 never joins
    Accuracy()(torch.tensor([1]), torch.tensor([1]))
    Accuracy().compute()
