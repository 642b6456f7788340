"""The scheduler's leader loop: recover runs of lost workers, decide, record, then dispatch.

Each tick, while this process holds leadership:
1. runs on a worker whose heartbeats stopped (or scheduled runs no worker picked up) go back
   to the queue as their next attempt, resuming from their last uploaded checkpoint, or fail
   once the spec's `max_restarts` is used up;
2. the pure placement (`placement.decide`) picks runs and slots;
3. the chosen runs become `scheduled` (each transition recorded) in one commit;
4. only after that commit, each run's assignment record is written and its tasks are sent to
   the workers' own queues, so a worker never sees a run the database does not.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import Celery
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from runyard.schemas import ExperimentSpec, RunState, worker_runs_key
from server.artifacts.models import Checkpoint
from server.db import utcnow
from server.experiments.models import Experiment
from server.runs import service as runs_service
from server.runs.models import Run, RunTransition
from server.scheduler import dispatch
from server.scheduler.leadership import Leadership
from server.scheduler.placement import Assignment, decide
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import ACTIVE, is_alive, take_snapshot
from server.users.tokens import issue_run_token
from server.workers.models import Worker

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    leading: bool
    dispatched: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    decision_ms: float = 0.0


@dataclass
class _Dispatch:
    run_id: str
    attempt: int
    spec: ExperimentSpec
    assignment: Assignment
    token: str
    bundle_url: str | None
    resume_url: str | None


def resume_url(checkpoint_id: str) -> str:
    return f"/api/v1/checkpoints/{checkpoint_id}/download"


class Scheduler:
    def __init__(
        self,
        settings: SchedulerSettings,
        *,
        session_factory: sessionmaker[Session],
        redis: Redis,
        prefix: str,
        sender: Celery,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._sessions = session_factory
        self._redis = redis
        self._prefix = prefix
        self._sender = sender
        self._clock = clock
        self.leadership = Leadership(redis, prefix, settings.lock_ttl_seconds)

    def tick(self) -> TickReport:
        if not self.leadership.hold():
            return TickReport(leading=False)
        report = TickReport(leading=True)
        now = self._clock()
        with self._sessions() as session:
            self._recover_lost_runs(session, now, report)
            snapshot = take_snapshot(session, self._redis, self._prefix, self.settings, now)
            began = time.perf_counter()
            decision = decide(
                snapshot.queued,
                snapshot.workers,
                quotas=snapshot.quotas,
                user_usage=snapshot.user_usage,
                project_usage=snapshot.project_usage,
                recent_gpu_seconds=snapshot.recent_gpu_seconds,
            )
            report.decision_ms = (time.perf_counter() - began) * 1000
            dispatches = [
                d
                for a in decision.assignments
                if (d := self._mark_scheduled(session, a, snapshot.worker_ids)) is not None
            ]
            session.commit()
        for d in dispatches:
            dispatch.record_assignment(
                self._redis, self._prefix, d.run_id, d.attempt, d.assignment.nodes
            )
            dispatch.send_run(
                self._sender,
                run_id=d.run_id,
                attempt=d.attempt,
                spec=d.spec,
                nodes=d.assignment.nodes,
                addresses=snapshot.addresses,
                run_token=d.token,
                server_url=self.settings.public_url,
                bundle_url=d.bundle_url,
                resume_checkpoint_url=d.resume_url,
            )
            report.dispatched.append(d.run_id)
        return report

    def _mark_scheduled(
        self, session: Session, assignment: Assignment, worker_ids: dict[str, str]
    ) -> _Dispatch | None:
        run = session.get(Run, assignment.run_id, with_for_update=True)
        if run is None or run.state != RunState.queued.value:
            return None  # canceled (or taken) since the snapshot
        where = ", ".join(f"{n.worker}[{','.join(n.slots)}]" for n in assignment.nodes)
        runs_service.transition(session, run, RunState.scheduled, f"placed on {where}")
        rank0 = assignment.nodes[0]
        run.worker_id = worker_ids[rank0.worker]
        run.devices = [int(s) for s in rank0.slots if s.isdigit()]
        experiment = session.get(Experiment, run.experiment_id)
        has_bundle = experiment is not None and experiment.bundle_sha256 is not None
        return _Dispatch(
            run_id=run.id,
            attempt=run.attempt,
            spec=ExperimentSpec.model_validate(run.spec),
            assignment=assignment,
            token=issue_run_token(session, run.id, run.owner_id),
            bundle_url=f"/api/v1/worker/runs/{run.id}/bundle" if has_bundle else None,
            resume_url=resume_url(run.resume_checkpoint_id) if run.resume_checkpoint_id else None,
        )

    def _held_by_workers(self, names: list[str]) -> dict[str, set[str] | None]:
        """Run ids each live worker says it runs; None where the worker wrote no record."""
        keys = [worker_runs_key(self._prefix, name) for name in names]
        records = self._redis.mget(keys) if keys else []
        return {
            name: set(json.loads(raw)) if raw else None
            for name, raw in zip(names, records, strict=True)
        }

    def _recover_lost_runs(self, session: Session, now: datetime, report: TickReport) -> None:
        timeout = timedelta(seconds=self.settings.worker_timeout_seconds)
        live = {w.id: w.name for w in session.scalars(select(Worker)) if is_alive(w, now, timeout)}
        held = self._held_by_workers(list(live.values()))
        dispatch_deadline = now - timedelta(seconds=self.settings.dispatch_timeout_seconds)
        for run in session.scalars(select(Run).where(Run.state.in_(ACTIVE)).with_for_update()):
            holding = held.get(live[run.worker_id]) if run.worker_id in live else None
            if run.worker_id not in live:
                reason = "its worker stopped sending heartbeats"
            elif run.state == RunState.scheduled.value and self._scheduled_at(session, run) < (
                dispatch_deadline
            ):
                reason = "no worker started it in time"
            elif (
                run.state == RunState.running.value
                and holding is not None
                and run.id not in holding
                and run.started_at is not None
                and now - run.started_at > timeout
            ):
                reason = "its worker no longer runs it (the worker restarted)"
            else:
                continue
            self._requeue_or_fail(session, run, reason, report)
        session.commit()
        for run_id in report.requeued + report.failed:
            dispatch.forget_assignment(self._redis, self._prefix, run_id)

    @staticmethod
    def _scheduled_at(session: Session, run: Run) -> datetime:
        at = session.scalar(
            select(func.max(RunTransition.at)).where(
                RunTransition.run_id == run.id, RunTransition.to_state == RunState.scheduled.value
            )
        )
        return at or run.created_at

    def _requeue_or_fail(self, session: Session, run: Run, reason: str, report: TickReport) -> None:
        max_restarts = ExperimentSpec.model_validate(run.spec).max_restarts
        if run.attempt - 1 >= max_restarts:
            runs_service.transition(
                session,
                run,
                RunState.failed,
                f"{reason}; max_restarts ({max_restarts}) used up, raise it in the spec to retry",
            )
            report.failed.append(run.id)
            return
        latest = session.scalar(
            select(Checkpoint)
            .where(Checkpoint.run_id == run.id)
            .order_by(Checkpoint.step.desc(), Checkpoint.created_at.desc())
            .limit(1)
        )
        runs_service.requeue(session, run, f"{reason}; requeued as attempt {run.attempt + 1}")
        if latest is not None:
            run.resume_checkpoint_id = latest.id
        report.requeued.append(run.id)

    def run_forever(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    report = self.tick()
                    if report.dispatched or report.requeued or report.failed:
                        log.info(
                            "dispatched %s requeued %s failed %s (decision %.1f ms)",
                            report.dispatched,
                            report.requeued,
                            report.failed,
                            report.decision_ms,
                        )
                except Exception:
                    # A database or Redis hiccup must not end scheduling; the next tick retries.
                    log.exception("scheduler tick failed")
                stop.wait(self.settings.tick_seconds)
        finally:
            self.leadership.release()
