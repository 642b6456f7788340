"""Driving ASHA searches: the SQL shell around the pure policy in asha.py.

Called by the scheduler's leader in its tick transaction, before placement, for every
experiment that has a paused trial (its search is not over while one waits). For each:
1. record the metric of every trial that reached the end of its rung, read from the
   checkpoint it saved there (uploaded before its worker reported the pause, so it is in SQL
   already; the metric stream may still be on its way);
2. decide (`asha.plan`) with the slots its `max_concurrent` leaves free;
3. apply: a new trial is queued for rung 0; a promoted one is queued as its next attempt,
   resuming from that checkpoint; once the search is idle, each trial still waiting ends
   `completed`, "stopped by ASHA at rung r".
The worker learns a trial's rung budget from its assignment (`rung_assignment`).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas import ExperimentSpec, RunState
from runyard.schemas.spec import SearchSpec
from server.artifacts.service import latest_checkpoint
from server.experiments.asha import (
    Policy,
    Promote,
    Result,
    Start,
    Stop,
    TrialView,
    plan,
    rung_budgets,
)
from server.experiments.models import Experiment, RungResult
from server.runs import service as runs_service
from server.runs.models import Run

_ACTIVE = (RunState.queued.value, RunState.scheduled.value, RunState.running.value)
_FINISHED = (RunState.completed.value, RunState.failed.value, RunState.canceled.value)


@dataclass
class SearchReport:
    started: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RungAssignment:
    """What an ASHA trial's next attempt trains to: the end of its rung."""

    max_epochs: int
    ends_paused: bool
    """False at the top rung: the trial completes (and exports) there."""


def asha_search(spec: ExperimentSpec) -> SearchSpec | None:
    search = spec.search
    return search if search is not None and search.method == "asha" else None


def budgets_of(spec: ExperimentSpec) -> tuple[int, ...]:
    search = asha_search(spec)
    assert search is not None and spec.trainer.max_epochs is not None  # the spec checks both
    return rung_budgets(search.grace_period, search.reduction_factor, spec.trainer.max_epochs)


def rung_assignment(experiment_spec: ExperimentSpec, rung: int) -> RungAssignment:
    budgets = budgets_of(experiment_spec)
    return RungAssignment(max_epochs=budgets[rung], ends_paused=rung < len(budgets) - 1)


def advance_searches(session: Session, now: datetime) -> SearchReport:
    """One step of every ASHA search with a paused trial (the caller commits)."""
    report = SearchReport()
    waiting = session.scalars(
        select(Run.experiment_id).where(Run.state == RunState.paused.value).distinct()
    )
    for experiment_id in sorted(set(waiting)):
        experiment = session.get(Experiment, experiment_id)
        if experiment is None:
            continue
        spec = ExperimentSpec.model_validate(experiment.spec)
        if asha_search(spec) is not None:
            _advance(session, experiment, spec, now, report)
    return report


def _advance(
    session: Session,
    experiment: Experiment,
    spec: ExperimentSpec,
    now: datetime,
    report: SearchReport,
) -> None:
    search = asha_search(spec)
    assert search is not None and search.metric is not None and search.mode is not None
    budgets = budgets_of(spec)
    # Locked: a cancel or a worker's state event waits for this decision, not the reverse.
    runs = list(
        session.scalars(
            select(Run)
            .where(Run.experiment_id == experiment.id)
            .order_by(Run.trial_index)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    results = list(
        session.scalars(select(RungResult).where(RungResult.experiment_id == experiment.id))
    )
    recorded = {(r.run_id, r.rung) for r in results}
    for run in runs:
        at_rung_end = run.state == RunState.paused.value or (
            run.state == RunState.completed.value and run.rung == len(budgets) - 1
        )
        if run.rung is None or not at_rung_end or (run.id, run.rung) in recorded:
            continue
        result = _record(session, run, search.metric, budgets[run.rung], now)
        if result is None:
            report.failed.append(run.id)
        else:
            results.append(result)
    policy = Policy(
        top_rung=len(budgets) - 1,
        reduction_factor=search.reduction_factor,
        mode=search.mode,
        num_trials=search.max_trials,
    )
    views = _views(runs, results)
    free = search.max_concurrent - sum(1 for v in views if v.active)
    by_index = {run.trial_index: run for run in runs}
    for action in plan(policy, views, free):
        run = by_index[action.trial]
        if run.state != RunState.paused.value:
            continue  # cannot happen under the lock; never act on a run that moved on
        if isinstance(action, Start):
            run.rung = 0
            runs_service.transition(
                session,
                run,
                RunState.queued,
                f"started by ASHA: trial {run.trial_index + 1} of {search.max_trials}, "
                f"rung 0 ({_epochs(budgets[0])})",
                at=now,
            )
            report.started.append(run.id)
        elif isinstance(action, Promote):
            runs_service.requeue(
                session,
                run,
                f"promoted by ASHA to rung {action.rung} ({_epochs(budgets[action.rung])}): "
                f"among the best 1/{search.reduction_factor} at rung {action.rung - 1}",
            )
            run.rung = action.rung
            report.promoted.append(run.id)
        elif isinstance(action, Stop):
            runs_service.transition(
                session, run, RunState.completed, f"stopped by ASHA at rung {action.rung}", at=now
            )
            report.stopped.append(run.id)


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _record(
    session: Session, run: Run, metric: str, epochs: int, now: datetime
) -> RungResult | None:
    """The trial's metric at the end of its rung, from the checkpoint it saved there; a paused
    trial without it fails (it cannot be ranked), naming what it did log."""
    assert run.rung is not None
    checkpoint = latest_checkpoint(session, run.id)
    metrics = checkpoint.metrics if checkpoint is not None else {}
    if metric not in metrics:
        if run.state == RunState.paused.value:
            logged = ", ".join(sorted(metrics)) or "nothing"
            runs_service.transition(
                session,
                run,
                RunState.failed,
                f"ASHA ranks trials by {metric!r}, which this trial had not logged by the end "
                f"of rung {run.rung} (its checkpoint holds {logged}); log it with "
                f"self.log({metric!r}, ...) or change search.metric",
                at=now,
            )
        return None
    raw = metrics[metric]
    value = float(raw) if raw is not None else math.nan
    result = RungResult(
        experiment_id=run.experiment_id,
        run_id=run.id,
        rung=run.rung,
        epochs=epochs,
        value=None if math.isnan(value) else value,
        recorded_at=now,
    )
    session.add(result)
    session.flush()  # its id orders it among the rung's results
    return result


def _views(runs: Sequence[Run], results: Sequence[RungResult]) -> list[TrialView]:
    by_run: dict[str, dict[int, Result]] = {}
    for r in results:
        value = math.nan if r.value is None else r.value
        by_run.setdefault(r.run_id, {})[r.rung] = Result(value=value, order=r.id)
    return [
        TrialView(
            index=run.trial_index,
            rung=run.rung,
            active=run.state in _ACTIVE,
            finished=run.state in _FINISHED,
            results=by_run.get(run.id, {}),
        )
        for run in runs
    ]
