"""Lightning 1.0's `metrics.functional.self_supervised`: similarity between embeddings."""

from __future__ import annotations

from torch import Tensor

from trainer_core.metrics.errors import MetricDefinitionError, MetricInputError

SIMILARITIES = ("cosine", "dot")
ROW_REDUCTIONS = ("none", "mean", "sum")


def embedding_similarity(
    batch: Tensor,
    similarity: str = "cosine",
    reduction: str = "none",
    zero_diagonal: bool = True,
) -> Tensor:
    """The (B, B) similarity of every pair of rows of `batch` (B, dim), 'cosine' or 'dot'.

    `zero_diagonal` sets each row's similarity with itself to 0; `reduction` 'mean' or 'sum'
    folds each row of the matrix into one value, giving shape (B,).
    """
    if similarity not in SIMILARITIES:
        raise MetricDefinitionError(
            f"similarity={similarity!r} is unknown; use one of {SIMILARITIES}"
        )
    if reduction not in ROW_REDUCTIONS:
        raise MetricDefinitionError(
            f"reduction={reduction!r} is unknown; use one of {ROW_REDUCTIONS}"
        )
    if batch.ndim != 2:
        raise MetricInputError(
            f"embedding_similarity needs a (batch, dim) matrix, got shape {tuple(batch.shape)}; "
            "flatten each embedding to one row"
        )
    if similarity == "cosine":
        batch = batch / batch.norm(p=2, dim=1, keepdim=True)
    scores = batch @ batch.T
    if zero_diagonal:
        scores = scores.fill_diagonal_(0)
    if reduction == "mean":
        return scores.mean(dim=-1)
    if reduction == "sum":
        return scores.sum(dim=-1)
    return scores
