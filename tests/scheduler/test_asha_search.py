"""ASHA searches in the leader loop, against a real database and Redis: trials start as slots
of the search free up, each attempt trains to the end of its rung (its task says how many
epochs, and that it ends paused), the metric at each rung end is read from the checkpoint the
trial saved there, a promoted trial resumes from that checkpoint, and once the search is idle
the trials left waiting end completed, "stopped by ASHA at rung r"."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from runyard.schemas import ExperimentSpec, RunAssignment, RunState
from server.artifacts.models import Checkpoint
from server.cluster.service import _holdings
from server.experiments.models import Experiment, RungResult
from server.runs.models import Run, RunTransition
from server.runs.service import apply_state_event
from tests.scheduler.test_leader import queued_tasks


def asha_experiment(  # type: ignore[no-untyped-def]
    factory, *, num_trials: int = 3, max_concurrent: int = 2, grace_period: int = 1
) -> list[str]:
    """An ASHA search whose trials are all waiting: reduction factor 3, rungs of grace_period
    and 3 * grace_period epochs (the top)."""
    spec = ExperimentSpec.model_validate(
        {
            "name": "asha",
            "project": "vision",
            "model": {"entrypoint": "examples.digits:DigitsClassifier"},
            "trainer": {"max_epochs": 3 * grace_period},
            "resources": {"gpus_per_node": 1},
            "search": {
                "algorithm": "asha",
                "metric": "val_acc",
                "mode": "max",
                "num_trials": num_trials,
                "max_concurrent": max_concurrent,
                "grace_period": grace_period,
                "reduction_factor": 3,
                "parameters": {"model.init_args.lr": {"loguniform": [1e-4, 1e-1]}},
            },
        }
    )
    trial_spec = spec.model_dump(mode="json", exclude={"search"})
    with factory.sessions() as s:
        experiment = Experiment(
            project_id=factory.project_id,
            owner_id=factory.owner_id,
            name="asha",
            spec=spec.model_dump(mode="json"),
            tags=[],
        )
        s.add(experiment)
        s.flush()
        runs = [
            Run(
                experiment_id=experiment.id,
                project_id=factory.project_id,
                owner_id=factory.owner_id,
                trial_index=i,
                state=RunState.paused.value,
                spec=trial_spec,
                params={},
                queued_at=factory.clock.now,
            )
            for i in range(num_trials)
        ]
        s.add_all(runs)
        s.commit()
        return [r.id for r in runs]


def train(factory, run_id: str, metrics: dict[str, float], ends: RunState) -> None:  # type: ignore[no-untyped-def]
    """What the worker does with the attempt: takes it, uploads its last checkpoint, reports
    how it ended."""
    fence = factory.accept(run_id)
    with factory.sessions() as s:
        run = s.get(Run, run_id)
        s.add(
            Checkpoint(
                run_id=run_id,
                attempt=run.attempt,
                epoch=run.attempt,
                step=100 * run.attempt,
                metrics=metrics,
                size=1,
                sha256="0" * 64,
                storage_path=f"ckpt/{run_id}/{run.attempt}",
                is_last=True,
            )
        )
        assert apply_state_event(s, run_id, run.attempt, ends, fence=fence, worker="w1")
        s.commit()
    factory.heartbeat("w1")


def tasks(redis, prefix) -> dict[str, RunAssignment]:  # type: ignore[no-untyped-def]
    found = [RunAssignment.model_validate(t) for t in queued_tasks(redis, prefix, "w1")]
    return {(a.run_id, a.attempt): a for a in found}  # type: ignore[misc]


def state(factory, run_id: str) -> tuple[str, int | None, str | None]:  # type: ignore[no-untyped-def]
    run = factory.get(run_id)
    return run.state, run.rung, run.exit_reason


def test_a_search_starts_promotes_resumes_and_stops_its_trials(
    make_scheduler, factory, redis, prefix
):
    factory.worker("w1", slots=4)
    factory.heartbeat("w1")
    first, second, third = asha_experiment(factory, num_trials=3, max_concurrent=2)
    scheduler = make_scheduler()

    report = scheduler.tick()
    assert report.searched.started == [first, second]  # max_concurrent: 2
    assert sorted(report.dispatched) == sorted([first, second])
    sent: dict[Any, RunAssignment] = tasks(redis, prefix)
    for run_id in (first, second):
        task = sent[(run_id, 1)]
        assert task.spec.trainer.max_epochs == 1 and task.ends_paused
        assert task.resume_checkpoint_url is None
    assert state(factory, third) == ("paused", None, None)

    train(factory, first, {"val_acc": 0.5, "val_loss": 1.0}, RunState.paused)
    train(factory, second, {"val_acc": 0.9, "val_loss": 0.3}, RunState.paused)
    report = scheduler.tick()
    # Two results at rung 0 promote floor(2/3) = 0 trials: the third one starts.
    assert report.searched.started == [third] and report.searched.promoted == []

    train(factory, third, {"val_acc": 0.7}, RunState.paused)
    report = scheduler.tick()
    assert report.searched.promoted == [second]
    promoted = factory.get(second)
    assert (promoted.state, promoted.rung, promoted.attempt) == ("scheduled", 1, 2)
    task = tasks(redis, prefix)[(second, 2)]
    assert task.spec.trainer.max_epochs == 3 and not task.ends_paused  # the top rung
    with factory.sessions() as s:
        checkpoint = s.scalars(select(Checkpoint).where(Checkpoint.run_id == second)).one()
        assert task.resume_checkpoint_url == f"/api/v1/checkpoints/{checkpoint.id}/download"
        reasons = s.scalars(
            select(RunTransition.reason).where(
                RunTransition.run_id == second, RunTransition.to_state == "queued"
            )
        )
        assert list(reasons) == [
            "started by ASHA: trial 2 of 3, rung 0 (1 epoch)",
            "promoted by ASHA to rung 1 (3 epochs): among the best 1/3 at rung 0",
        ]
    # The others wait: more results at rung 0 could still promote them.
    assert state(factory, first) == ("paused", 0, None)

    train(factory, second, {"val_acc": 0.95}, RunState.completed)
    report = scheduler.tick()
    assert sorted(report.searched.stopped) == sorted([first, third])
    assert state(factory, first) == ("completed", 0, "stopped by ASHA at rung 0")
    assert state(factory, third) == ("completed", 0, "stopped by ASHA at rung 0")
    assert state(factory, second)[:2] == ("completed", 1)
    with factory.sessions() as s:
        results = s.scalars(select(RungResult).order_by(RungResult.id))
        assert [(r.run_id, r.rung, r.epochs, r.value) for r in results] == [
            (first, 0, 1, 0.5),
            (second, 0, 1, 0.9),
            (third, 0, 1, 0.7),
            (second, 1, 3, 0.95),
        ]
    assert scheduler.tick().searched.started == []  # the search is over


def test_a_trial_that_never_logged_the_metric_fails_saying_what_it_logged(make_scheduler, factory):
    factory.worker("w1", slots=4)
    factory.heartbeat("w1")
    first, *_ = asha_experiment(factory, num_trials=3, max_concurrent=1)
    scheduler = make_scheduler()
    assert scheduler.tick().searched.started == [first]
    train(factory, first, {"val_loss": 0.4}, RunState.paused)
    report = scheduler.tick()
    assert report.searched.failed == [first]
    run_state, _, reason = state(factory, first)
    assert run_state == "failed"
    assert reason is not None and "ASHA ranks trials by 'val_acc'" in reason
    assert "its checkpoint holds val_loss" in reason
    assert len(report.searched.started) == 1  # the search goes on with the next trial


def test_only_an_asha_trial_may_pause(make_scheduler, factory):
    factory.worker("w1", slots=1)
    run_id = factory.run()
    make_scheduler().tick()
    fence = factory.accept(run_id)
    with factory.sessions() as s:
        assert not apply_state_event(s, run_id, 1, RunState.paused, fence=fence, worker="w1")
        s.commit()
    assert factory.get(run_id).state == "running"


def test_a_trials_expected_end_counts_the_epochs_of_its_rung_not_max_epochs(
    make_scheduler, factory, clock
):
    factory.worker("w1", slots=4)
    factory.heartbeat("w1")
    first, *_ = asha_experiment(factory, max_concurrent=1, grace_period=2)  # rungs: 2, 6 epochs
    make_scheduler().tick()
    factory.accept(first)
    with factory.sessions() as s:
        run = s.get(Run, first)
        run.started_at = clock.now - timedelta(seconds=10)
        s.add(
            Checkpoint(
                run_id=first,
                attempt=1,
                epoch=0,
                step=10,
                metrics={},
                size=1,
                sha256="0" * 64,
                storage_path="ckpt/first",
            )
        )
        s.commit()
        [holding] = _holdings(s, clock.now)
    assert holding.remaining_seconds == 10.0  # 1 of its rung's 2 epochs took 10 s (not 1 of 6)
