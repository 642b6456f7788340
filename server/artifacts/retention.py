"""Which checkpoints a run keeps, from its spec's checkpoint policy (a pure function).

Mirrors Lightning's ModelCheckpoint: the `save_top_k` best by `monitor` (in `mode`), plus the
newest one when `save_last`. Without a monitor, "best" means newest.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from runyard.schemas.spec import CheckpointPolicy


@dataclass(frozen=True)
class Candidate:
    id: str
    order: tuple[int, int, float]
    """(attempt, step, upload time): larger is newer."""
    metrics: dict[str, float]


@dataclass(frozen=True)
class Retention:
    keep: frozenset[str]
    best: str | None
    last: str | None


def decide(checkpoints: Sequence[Candidate], policy: CheckpointPolicy) -> Retention:
    if not checkpoints:
        return Retention(keep=frozenset(), best=None, last=None)
    newest_first = sorted(_one_per_state(checkpoints), key=lambda c: c.order, reverse=True)
    last = newest_first[0].id
    if policy.monitor is None:
        ranked = newest_first
    else:
        monitor = policy.monitor
        scored = [c for c in newest_first if _finite(c.metrics.get(monitor))]
        # Stable sort on newest-first input: among equal values the newer ranks first.
        ranked = sorted(
            scored,
            key=lambda c: c.metrics[monitor],
            reverse=policy.mode == "max",
        )
    top = ranked if policy.save_top_k == -1 else ranked[: policy.save_top_k]
    keep = {c.id for c in top}
    if policy.save_last:
        keep.add(last)
    return Retention(keep=frozenset(keep), best=ranked[0].id if ranked else None, last=last)


def _one_per_state(checkpoints: Sequence[Candidate]) -> list[Candidate]:
    """The trainer saves one training state twice when a top-k save and its `last` copy fall
    on the same step. Both carry the same metrics, so ranking both would let the copy push a
    distinct state out of the top k; the first upload of each (attempt, step) stands for it
    and the later copy is dropped."""
    first_upload: dict[tuple[int, int], Candidate] = {}
    for candidate in sorted(checkpoints, key=lambda c: c.order):
        first_upload.setdefault(candidate.order[:2], candidate)
    return list(first_upload.values())


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
