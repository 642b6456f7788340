"""The scheduler's leader loop: observe, recover, decide, record, then tell Redis.

Each tick is one transaction that starts by renewing the SQL leadership lease (see
leadership.py), so only one scheduler's decisions are ever written:
1. observe: is the server up to receive heartbeats, is Redis up, which workers beat on Redis;
2. recover: the nodes of workers dead past their lease are released and their attempts
   requeued (a whole gang when any of its nodes is lost), as are attempts a worker gave up or
   lost by restarting; tasks no worker acknowledged are sent again, or requeued in the end;
3. decide (`placement.decide`, pure) and record each placement as a new attempt with its
   fencing number and nodes;
4. only after the commit, rewrite the assignment records in Redis (a cache of SQL) and send
   the tasks, so a worker never sees a placement the database does not.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import Celery
from pydantic import ValidationError
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from runyard.schemas import (
    AssignmentRecord,
    ExperimentSpec,
    RunState,
    WorkerBeat,
    worker_beat_key,
)
from server.attempts.models import AttemptNode, RunAttempt, ServicePresence
from server.attempts.presence import SERVER
from server.attempts.service import holding_nodes, open_attempt, record_report, release
from server.db import utcnow
from server.experiments.asha_search import SearchReport, advance_searches, rung_assignment
from server.experiments.models import Experiment
from server.runs import service as runs_service
from server.runs.models import Run
from server.scheduler import dispatch
from server.scheduler.leadership import Leadership, leader_key
from server.scheduler.liveness import Liveness
from server.scheduler.placement import Assignment, NodePlacement, decide
from server.scheduler.preempt import request_preemptions
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import take_snapshot
from server.tracking.abandonment import give_up_silent_runs
from server.users.tokens import issue_run_token
from server.workers.models import Worker

log = logging.getLogger(__name__)

TOMBSTONE_WINDOW = timedelta(minutes=10)
"""Ended attempts keep an `ended` record this long, so a late task or a paused worker learns."""


@dataclass
class TickReport:
    leading: bool
    dispatched: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)
    """Runs asked to checkpoint and stop to make room this tick."""
    abandoned: list[str] = field(default_factory=list)
    """External runs failed because their client went silent."""
    searched: SearchReport = field(default_factory=SearchReport)
    """What the ASHA searches did this tick."""
    decision_ms: float = 0.0


@dataclass
class _Send:
    run_id: str
    attempt: int
    fence: int
    spec: ExperimentSpec
    nodes: list[NodePlacement]
    token: str
    bundle_url: str | None
    resume_url: str | None
    ranks: list[int] | None = None
    ends_paused: bool = False


def resume_url(checkpoint_id: str) -> str:
    return f"/api/v1/checkpoints/{checkpoint_id}/download"


def server_is_present(session: Session, now: datetime, timeout: timedelta) -> bool:
    seen = session.scalar(select(ServicePresence.seen_at).where(ServicePresence.name == SERVER))
    return seen is not None and now - seen <= timeout


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
        self.leadership = Leadership(settings.lock_ttl_seconds)
        self._timeout = timedelta(seconds=settings.worker_timeout_seconds)
        self.liveness = Liveness(self._timeout)

    def tick(self) -> TickReport:
        now = self._clock()
        redis_up = self._redis_answers()
        with self._sessions() as session:
            if not self.leadership.hold(session, now):
                session.rollback()
                return TickReport(leading=False)
            if self.leadership.acquired:
                # A new leader has heard nobody yet: its grace period starts now.
                self.liveness = Liveness(self._timeout)
            report = TickReport(leading=True)
            presence = timedelta(seconds=self.settings.server_presence_timeout_seconds)
            self.liveness.observe_channel("http", server_is_present(session, now, presence), now)
            self.liveness.observe_channel("redis", redis_up, now)
            if redis_up:
                self._read_beats(session, now)
            sends = self._recover(session, now, report)
            report.abandoned = self._give_up_silent_external_runs(session, now)
            # Trials an ASHA search starts or promotes now are placed in this same tick.
            report.searched = advance_searches(session, now)
            snapshot = take_snapshot(session, self.settings, now)
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
            # Placements are dated after the snapshot was read, not at the tick's start: a slot
            # its previous holder released while this tick ran is then never recorded as held
            # by the new attempt before that release.
            placed_at = max(self._clock(), now)
            for placed in decision.assignments:
                send = self._mark_scheduled(session, placed, snapshot.worker_ids, placed_at)
                if send is not None:
                    sends.append(send)
                    report.dispatched.append(send.run_id)
            preemptions = request_preemptions(session, snapshot, decision, self.settings, now)
            report.preempted = [p.victim for p in preemptions]
            records = self._records(session, now)
            session.commit()
        self._tell_redis(records, sends, snapshot.addresses)
        return report

    def _give_up_silent_external_runs(self, session: Session, now: datetime) -> list[str]:
        # External clients talk to the server only: their silence counts while it was up.
        silence = timedelta(seconds=self.settings.external_run_timeout_seconds)
        if not self.liveness.channel_up_for("http", silence, now):
            return []
        return give_up_silent_runs(session, now, silence)

    def _redis_answers(self) -> bool:
        try:
            return bool(self._redis.ping())
        except RedisError:
            return False

    def _read_beats(self, session: Session, now: datetime) -> None:
        """Workers' Redis beats: the second liveness channel, and their reports."""
        workers = list(session.scalars(select(Worker)))
        if not workers:
            return
        try:
            raw = self._redis.mget([worker_beat_key(self._prefix, w.name) for w in workers])
        except RedisError:
            return
        for worker, value in zip(workers, raw, strict=True):
            if value is None:
                continue
            try:
                beat = WorkerBeat.model_validate_json(value)
            except ValidationError:
                log.warning("worker %s wrote a malformed beat; ignored", worker.name)
                continue
            if not self.liveness.observe_beat(worker.name, beat.n):
                continue
            worker.last_heartbeat = max(worker.last_heartbeat, now)
            worker.incarnation = beat.incarnation
            if worker.state == "dead":
                worker.state = "online"
            record_report(session, worker.name, beat, now)

    def _recover(self, session: Session, now: datetime, report: TickReport) -> list[_Send]:
        workers = {w.name: w for w in session.scalars(select(Worker))}
        dead = {name for name, w in workers.items() if self.liveness.is_dead(w.last_heartbeat, now)}
        for name in dead:
            if workers[name].state != "dead":
                workers[name].state = "dead"
                log.info("worker %s declared dead: silent past its lease", name)
        requeue: dict[str, str] = {}
        unseen: dict[int, list[AttemptNode]] = {}
        for node in holding_nodes(session):
            attempt = session.get(RunAttempt, node.fence)
            assert attempt is not None
            is_open = attempt.ended_at is None
            worker = workers.get(node.worker_name)
            if worker is None or node.worker_name in dead:
                release(node, f"worker {node.worker_name} went silent past its lease", now)
                if is_open:
                    requeue.setdefault(
                        attempt.run_id, f"its worker {node.worker_name} stopped sending heartbeats"
                    )
            elif not is_open:
                if node.seen_at is None:
                    # Its worker never accepted it, and acceptance is refused from now on.
                    release(node, "ended before its worker started it", now)
                # else: released when its worker confirms the processes are gone
            elif (
                node.seen_incarnation is not None
                and worker.incarnation is not None
                and worker.incarnation != node.seen_incarnation
            ):
                release(node, f"worker {node.worker_name} restarted", now)
                requeue.setdefault(
                    attempt.run_id, f"its worker {node.worker_name} restarted and lost it"
                )
            elif node.seen_at is None:
                if now - attempt.created_at > timedelta(
                    seconds=self.settings.dispatch_timeout_seconds
                ):
                    requeue.setdefault(attempt.run_id, "no worker started it in time")
                elif now - node.dispatched_at > timedelta(seconds=self.settings.redispatch_seconds):
                    unseen.setdefault(node.fence, []).append(node)
        for node in session.scalars(select(AttemptNode).where(AttemptNode.lost_at.is_not(None))):
            attempt = session.get(RunAttempt, node.fence)
            if attempt is not None and attempt.ended_at is None:
                requeue.setdefault(attempt.run_id, f"its worker {node.worker_name} gave it up")
        for run_id, reason in requeue.items():
            run = session.get(Run, run_id, with_for_update=True, populate_existing=True)
            if run is not None and run.state in (RunState.scheduled, RunState.running):
                self._requeue_or_fail(session, run, reason, report)
        sends = []
        for fence, nodes in unseen.items():
            attempt = session.get(RunAttempt, fence)
            assert attempt is not None
            if attempt.run_id in requeue:
                continue
            run = session.get(Run, attempt.run_id)
            assert run is not None
            for node in nodes:
                node.dispatched_at = now
            sends.append(self._send_for(session, run, attempt, ranks=[n.node_rank for n in nodes]))
            report.redispatched.append(run.id)
        return sends

    def _send_for(
        self, session: Session, run: Run, attempt: RunAttempt, ranks: list[int] | None = None
    ) -> _Send:
        nodes = session.scalars(
            select(AttemptNode)
            .where(AttemptNode.fence == attempt.fence)
            .order_by(AttemptNode.node_rank)
        )
        experiment = session.get(Experiment, run.experiment_id)
        has_bundle = experiment is not None and experiment.bundle_sha256 is not None
        spec = ExperimentSpec.model_validate(run.spec)
        ends_paused = False
        if run.rung is not None and experiment is not None:
            # An ASHA trial trains to the end of its rung, not to the spec's max_epochs.
            rung = rung_assignment(ExperimentSpec.model_validate(experiment.spec), run.rung)
            spec = spec.model_copy(
                update={"trainer": spec.trainer.model_copy(update={"max_epochs": rung.max_epochs})}
            )
            ends_paused = rung.ends_paused
        return _Send(
            run_id=run.id,
            attempt=attempt.attempt,
            fence=attempt.fence,
            spec=spec,
            nodes=[NodePlacement(n.worker_name, tuple(n.slots)) for n in nodes],
            token=issue_run_token(session, run.id, run.owner_id, attempt.fence),
            bundle_url=f"/api/v1/worker/runs/{run.id}/bundle" if has_bundle else None,
            resume_url=resume_url(run.resume_checkpoint_id) if run.resume_checkpoint_id else None,
            ranks=ranks,
            ends_paused=ends_paused,
        )

    def _mark_scheduled(
        self, session: Session, placed: Assignment, worker_ids: dict[str, str], now: datetime
    ) -> _Send | None:
        run = session.get(Run, placed.run_id, with_for_update=True)
        if run is None or run.state != RunState.queued.value:
            return None  # canceled (or taken) since the snapshot
        where = ", ".join(f"{n.worker}[{','.join(n.slots)}]" for n in placed.nodes)
        runs_service.transition(session, run, RunState.scheduled, f"placed on {where}", at=now)
        rank0 = placed.nodes[0]
        run.worker_id = worker_ids[rank0.worker]
        run.devices = [int(s) for s in rank0.slots if s.isdigit()]
        attempt = open_attempt(session, run, [(n.worker, n.slots) for n in placed.nodes], now)
        return self._send_for(session, run, attempt)

    def _records(self, session: Session, now: datetime) -> dict[str, AssignmentRecord]:
        """Every open attempt's record, and tombstones of recently ended ones."""
        attempts = session.scalars(
            select(RunAttempt)
            .where(
                (RunAttempt.ended_at.is_(None)) | (RunAttempt.ended_at >= now - TOMBSTONE_WINDOW)
            )
            .order_by(RunAttempt.fence)
        )
        records: dict[str, AssignmentRecord] = {}
        for attempt in attempts:
            workers = [
                n.worker_name
                for n in session.scalars(
                    select(AttemptNode)
                    .where(AttemptNode.fence == attempt.fence)
                    .order_by(AttemptNode.node_rank)
                )
            ]
            run = session.get(Run, attempt.run_id)
            records[attempt.run_id] = AssignmentRecord(
                fence=attempt.fence,
                attempt=attempt.attempt,
                workers=workers,
                ended=attempt.ended_at is not None,
                cancel=run is not None and run.cancel_requested_at is not None,
                preempt=run.preempt_reason
                if run is not None and run.preempt_requested_at
                else None,
            )
        return records

    def _tell_redis(
        self, records: dict[str, AssignmentRecord], sends: list[_Send], addresses: dict[str, str]
    ) -> None:
        """After the commit. A failure here costs a resend at a later tick, nothing more."""
        try:
            dispatch.write_records(self._redis, self._prefix, records)
            for s in sends:
                dispatch.send_run(
                    self._sender,
                    run_id=s.run_id,
                    attempt=s.attempt,
                    fence=s.fence,
                    spec=s.spec,
                    nodes=s.nodes,
                    addresses=addresses,
                    run_token=s.token,
                    server_url=self.settings.public_url,
                    bundle_url=s.bundle_url,
                    resume_checkpoint_url=s.resume_url,
                    lease_seconds=self.settings.lease_seconds,
                    ranks=s.ranks,
                    ends_paused=s.ends_paused,
                )
            self._redis.set(
                leader_key(self._prefix),
                self.leadership.identity,
                px=int(self.settings.lock_ttl_seconds * 1000),
            )
        except RedisError:
            log.warning("Redis unreachable; records and tasks follow at a later tick")

    def _requeue_or_fail(self, session: Session, run: Run, reason: str, report: TickReport) -> None:
        max_restarts = ExperimentSpec.model_validate(run.spec).max_restarts
        if run.restarts >= max_restarts:
            runs_service.transition(
                session,
                run,
                RunState.failed,
                f"{reason}; max_restarts ({max_restarts}) used up, raise it in the spec to retry",
            )
            report.failed.append(run.id)
            return
        runs_service.requeue(session, run, f"{reason}; requeued as attempt {run.attempt + 1}")
        run.restarts += 1
        report.requeued.append(run.id)

    def run_forever(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    report = self.tick()
                    searched = report.searched
                    if searched.started or searched.promoted or searched.stopped:
                        log.info(
                            "ASHA started %s promoted %s stopped %s failed %s",
                            searched.started,
                            searched.promoted,
                            searched.stopped,
                            searched.failed,
                        )
                    if report.dispatched or report.requeued or report.failed or report.preempted:
                        log.info(
                            "dispatched %s redispatched %s requeued %s failed %s preempting %s "
                            "(%.1f ms)",
                            report.dispatched,
                            report.redispatched,
                            report.requeued,
                            report.failed,
                            report.preempted,
                            report.decision_ms,
                        )
                except Exception:
                    # A database or Redis hiccup must not end scheduling; the next tick retries.
                    log.exception("scheduler tick failed")
                stop.wait(self.settings.tick_seconds)
        finally:
            with self._sessions() as session:
                self.leadership.release(session, self._clock())
