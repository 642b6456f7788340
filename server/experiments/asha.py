"""ASHA, asynchronous successive halving (Li et al. 2018, "A System for Massively Parallel
Hyperparameter Tuning", Algorithm 2), as pure decisions over a snapshot of an experiment's
trials.

Rung k trains a trial for `budgets[k]` epochs in all; the last rung is the top, where a trial
completes. Whenever a slot is free, `get_job` promotes the best trial that is in the top
1/eta of the results recorded at its rung and was not promoted yet, looking from the highest
rung below the top down to rung 0; if there is none it starts a new trial (while fewer than
num_trials have started). A trial waiting at a rung may still be promoted later, when more
results arrive there; so trials are stopped only once the search is idle: nothing runs and
`get_job` has nothing to give.

Ties between equal results go to the one recorded first; NaN ranks last in either mode.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

Mode = Literal["min", "max"]


def rung_budgets(grace_period: int, reduction_factor: int, max_epochs: int) -> tuple[int, ...]:
    """Epochs each rung trains to: grace_period * reduction_factor**k while below max_epochs,
    then max_epochs (the top rung)."""
    budgets = []
    epochs = grace_period
    while epochs < max_epochs:
        budgets.append(epochs)
        epochs *= reduction_factor
    budgets.append(max_epochs)
    return tuple(budgets)


@dataclass(frozen=True)
class Result:
    value: float
    order: int
    """When it was recorded, among all results of the experiment (ties go to the earlier)."""


@dataclass(frozen=True)
class TrialView:
    """One trial as the policy sees it."""

    index: int
    rung: int | None = None
    """The rung it trains for, waits at, or ended at; None: not started yet."""
    active: bool = False
    """Queued, scheduled or running (towards the end of `rung`)."""
    finished: bool = False
    """Completed, failed or canceled: never promoted again."""
    results: Mapping[int, Result] = field(default_factory=dict)
    """Its metric at the end of each rung it reached."""

    @property
    def waiting(self) -> bool:
        """Paused at the end of its rung, waiting for a promotion."""
        return (
            self.rung is not None
            and not self.active
            and not self.finished
            and self.rung in self.results
        )


@dataclass(frozen=True)
class Promote:
    trial: int
    rung: int
    """The rung it goes on to."""


@dataclass(frozen=True)
class Start:
    trial: int


@dataclass(frozen=True)
class Stop:
    trial: int
    rung: int
    """The rung it stops at."""


Action = Promote | Start | Stop


@dataclass(frozen=True)
class Policy:
    top_rung: int
    reduction_factor: int
    mode: Mode
    num_trials: int

    def loss(self, result: Result) -> tuple[float, int]:
        """Sort key: smaller is better."""
        if math.isnan(result.value):
            return (math.inf, result.order)
        return (result.value if self.mode == "min" else -result.value, result.order)


def get_job(policy: Policy, trials: Sequence[TrialView]) -> Promote | Start | None:
    """The next job for a free slot (Algorithm 2's get_job), or None when there is none."""
    for rung in range(policy.top_rung - 1, -1, -1):
        recorded = sorted(
            (t for t in trials if rung in t.results), key=lambda t: policy.loss(t.results[rung])
        )
        best = recorded[: len(recorded) // policy.reduction_factor]
        for trial in best:
            if trial.waiting and trial.rung == rung:
                return Promote(trial.index, rung + 1)
    started = sum(1 for t in trials if t.rung is not None)
    if started < policy.num_trials:
        fresh = [t for t in trials if t.rung is None and not t.finished]
        if fresh:
            return Start(min(fresh, key=lambda t: t.index).index)
    return None


def plan(policy: Policy, trials: Iterable[TrialView], free_slots: int) -> list[Action]:
    """What to do now with `free_slots` slots: one get_job per slot (each seeing the jobs
    before it), then, if the search is idle, stop every trial still waiting at a rung."""
    by_index = {t.index: t for t in trials}
    actions: list[Action] = []
    for _ in range(max(free_slots, 0)):
        job = get_job(policy, list(by_index.values()))
        if job is None:
            break
        actions.append(job)
        trial = by_index[job.trial]
        rung = job.rung if isinstance(job, Promote) else 0
        by_index[job.trial] = replace(trial, rung=rung, active=True)
    views = list(by_index.values())
    if not any(t.active for t in views) and get_job(policy, views) is None:
        actions.extend(Stop(t.index, t.rung) for t in views if t.waiting and t.rung is not None)
    return actions
