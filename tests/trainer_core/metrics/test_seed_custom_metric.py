"""The seed's custom metric (Lightning 1.0 announcement) runs unchanged on trainer_core."""

import torch

from trainer_core import metrics as pl_metrics


class _pl:  # stands in for `import pytorch_lightning as pl` in the snippet below
    metrics = pl_metrics


# --- the seed's snippet; only the import differs ------------------------------------
from trainer_core.metrics import Metric  # noqa: E402


class MyAccuracy(Metric):
    def __init__(self, dist_sync_on_step=False):
        super().__init__(dist_sync_on_step=dist_sync_on_step)

        self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor):
        preds, target = self._input_format(preds, target)
        assert preds.shape == target.shape

        self.correct += torch.sum(preds == target)
        self.total += target.numel()

    def compute(self):
        return self.correct.float() / self.total


# -------------------------------------------------------------------------------------


def _logits_batches(seed: int = 0, batches: int = 4, n: int = 16, classes: int = 5):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(n, classes, generator=gen), torch.randint(0, classes, (n,), generator=gen))
        for _ in range(batches)
    ]


def test_my_accuracy_from_logits_equals_the_plain_computation():
    metric = MyAccuracy()
    batches = _logits_batches()
    for logits, y in batches:
        metric(logits, y)
    preds = torch.cat([b[0] for b in batches]).argmax(dim=1)
    target = torch.cat([b[1] for b in batches])
    assert metric.compute() == (preds == target).float().mean()


def test_my_accuracy_agrees_with_the_ready_accuracy_step_by_step():
    mine, ready = MyAccuracy(), _pl.metrics.Accuracy()
    for logits, y in _logits_batches(seed=1):
        assert mine(logits, y) == ready(logits, y)
    assert mine.compute() == ready.compute()


def test_my_accuracy_thresholds_binary_probabilities():
    metric = MyAccuracy()
    assert metric(torch.tensor([0.9, 0.2, 0.6]), torch.tensor([1, 0, 0])) == 2 / 3
