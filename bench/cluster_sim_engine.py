"""A discrete-event simulation of one GPU cluster driven by the scheduler's real pure code.

Events (a heap): job arrivals, job completions, and preempted runs reaching their stop (the
next step boundary plus the checkpoint upload, `drain_seconds` after the request), and the
scheduling passes. A pass runs at the leader's next 1-second tick after any of the others
(ticks in which nothing changed are skipped: their decision would be the same), and every
`pass_seconds` regardless, for what changes with time alone (runs passing the minimum runtime,
the hourly preemption budget, the fair-share window). A pass is what the leader's tick does:
the real `placement.decide` over the queue and the cluster's free slots, then, for a policy
with preemption, the real `preemption.blocked_runs` and `preemption.plan_preemptions` with the
budget the leader derives from `preemption_max_per_hour`. Placements start at once (the
worker's accept and start are not simulated).

Checkpoints: every run checkpoints every `checkpoint_seconds` of its own progress, so the
last checkpoint's time is known without events for it. A preempted run resumes from its last
periodic checkpoint, the worst case: the real trainer also saves a checkpoint at the step
boundary when asked to stop, and with it the loss is only the restart (both are reported).
Lost work per preemption = (stop time - last checkpoint) x GPUs + `restart_seconds` x GPUs.
"""

import heapq
import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.cluster_sim_workload import NODE_GPUS, Job
from server.scheduler.placement import (
    Decision,
    NodePlacement,
    QueuedRun,
    Quotas,
    WorkerState,
    decide,
)
from server.scheduler.preemption import (
    PreemptionPolicy,
    RunningRun,
    blocked_runs,
    plan_preemptions,
)

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
HOUR = 3600.0
_CHANGES = frozenset({"arrive", "finish", "stop"})
"""Events after which the next tick has something new to decide."""


@dataclass(frozen=True)
class Policy:
    name: str
    fifo: bool = False
    """Arrival order only: each run its own priority level (earlier is higher), no fair share."""
    preemption: bool = False


POLICIES = (
    Policy("fifo", fifo=True),
    Policy("priority_fair_share"),
    Policy("priority_fair_share_preemption", preemption=True),
)


@dataclass(frozen=True)
class SimConfig:
    nodes: int = 125
    node_gpus: int = NODE_GPUS
    tick_seconds: float = 1.0
    """The leader's tick: a change (arrival, completion, a preempted run gone) is seen at the
    next one."""
    pass_seconds: float = 60.0
    """A pass also runs this often when nothing changed (time-driven inputs)."""
    checkpoint_seconds: float = 30 * 60.0
    drain_seconds: float = 60.0
    restart_seconds: float = 120.0
    fair_share_window_seconds: float = 7 * 24 * HOUR
    min_runtime_seconds: float = 300.0
    preemptions_per_hour: int = 30
    warmup_seconds: float = 0.0
    """Jobs submitted before this, and GPU-time before it, are left out of the figures."""
    end_seconds: float = 7 * 24 * HOUR
    drain: bool = False
    """Go on past `end_seconds` (no more arrivals) until every job is done."""

    @property
    def gpus(self) -> int:
        return self.nodes * self.node_gpus


@dataclass
class JobRecord:
    job: Job
    first_start: float | None = None
    finished: float | None = None
    preemptions: int = 0


@dataclass
class Waiting:
    job: Job
    queued: QueuedRun
    work_left: float
    resumed: bool


@dataclass
class Active:
    job: Job
    nodes: tuple[NodePlacement, ...]
    started: float
    compute_start: float
    work_left: float
    attempt: int
    preempt_at: float | None = None

    @property
    def end(self) -> float:
        return self.compute_start + self.work_left

    def last_checkpoint(self, now: float, every: float) -> float:
        progress = max(now - self.compute_start, 0.0)
        saved = math.floor(progress / every) * every
        return self.compute_start + saved if saved > 0 else self.started


@dataclass
class Outcome:
    records: dict[str, JobRecord]
    busy_gpu_seconds: float
    measured_seconds: float
    gpus: int
    user_gpu_seconds: dict[str, float]
    lost_gpu_seconds: float
    lost_gpu_seconds_step_checkpoint: float
    preemptions: int
    passes: int
    queued_at_end: set[str]
    running_at_end: set[str]
    free_at_end: dict[str, list[str]]
    max_queued: int
    double_booked: int
    """Placements onto a slot that was not free (0 unless `decide` or this simulation errs)."""

    @property
    def utilisation(self) -> float:
        return self.busy_gpu_seconds / (self.gpus * self.measured_seconds)


@dataclass
class ClusterSim:
    config: SimConfig
    policy: Policy
    jobs: list[Job]
    now: float = 0.0
    free: dict[str, list[str]] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    active: dict[str, Active] = field(default_factory=dict)
    records: dict[str, JobRecord] = field(default_factory=dict)
    events: list[tuple[float, int, str, str, int]] = field(default_factory=list)
    recent: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    buckets: dict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    user_gpu_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    held_by_user: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    held_by_project: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accrued_until: dict[str, float] = field(default_factory=dict)
    recent_requeues: deque[float] = field(default_factory=deque)
    busy: float = 0.0
    lost: float = 0.0
    lost_step: float = 0.0
    preempted: int = 0
    """Preemptions in the measured window (as the lost work)."""
    passes: int = 0
    max_queued: int = 0
    double_booked: int = 0
    _seq: int = 0
    _passes_due: set[float] = field(default_factory=set)
    _changes_due: int = 0
    """Arrivals, completions and stops still in the heap."""
    _accrued_hour: int = -1

    def __post_init__(self) -> None:
        slots = [str(s) for s in range(self.config.node_gpus)]
        self.free = {f"node-{n:03d}": list(slots) for n in range(self.config.nodes)}
        self.capacity = tuple(slots)
        for job in self.jobs:
            self.records[job.id] = JobRecord(job)
            self._push(job.submit, "arrive", job.id, 0)

    def run(self) -> Outcome:
        c = self.config
        self._push(c.pass_seconds, "periodic_pass", "", 0)
        while self.events:
            at, _, kind, job_id, token = self.events[0]
            busy = self.waiting or self.active
            if at > c.end_seconds and not (c.drain and busy):
                break
            heapq.heappop(self.events)
            self.now = at
            getattr(self, f"_on_{kind}")(job_id, token)
            if kind in _CHANGES:
                self._changes_due -= 1
                self._pass_soon()
            elif self.waiting and not (self.active or self._changes_due):
                break  # what is left can never be placed on this cluster
        if not c.drain:
            self.now = c.end_seconds
        self._accrue_all()
        return self._outcome()

    def _pass_soon(self) -> None:
        """The leader's next tick sees what just changed."""
        at = math.ceil(self.now / self.config.tick_seconds) * self.config.tick_seconds
        if at not in self._passes_due:
            self._passes_due.add(at)
            self._push(at, "pass", "", 0)

    # --- events ---------------------------------------------------------------------------

    def _push(self, at: float, kind: str, job_id: str, token: int) -> None:
        self._changes_due += kind in _CHANGES
        self._seq += 1
        heapq.heappush(self.events, (at, self._seq, kind, job_id, token))

    def _on_pass(self, _: str, __: int) -> None:
        self._passes_due.discard(self.now)
        hour = int(self.now // HOUR)
        if hour != self._accrued_hour:
            # Hourly is enough for the window's buckets; passes read `_history()` in between.
            self._accrued_hour = hour
            self._accrue_all()
            self._expire_history()
        self._pass()

    def _on_periodic_pass(self, _: str, __: int) -> None:
        """A pass even when nothing happened: runs pass their minimum runtime, the hourly
        preemption budget refills, the fair-share history moves on."""
        self._push(self.now + self.config.pass_seconds, "periodic_pass", "", 0)
        self._on_pass("", 0)

    def _on_arrive(self, job_id: str, _: int) -> None:
        job = self.records[job_id].job
        self._enqueue(job, job.duration, resumed=False)

    def _on_finish(self, job_id: str, token: int) -> None:
        run = self.active.get(job_id)
        if run is None or run.attempt != token:
            return  # the completion of an attempt that was preempted first
        self._release(run)
        self.records[job_id].finished = self.now

    def _on_stop(self, job_id: str, token: int) -> None:
        run = self.active.get(job_id)
        if run is None or run.attempt != token:
            return  # it finished while draining
        self._release(run)
        checkpoint = run.last_checkpoint(self.now, self.config.checkpoint_seconds)
        saved = max(checkpoint - run.compute_start, 0.0)
        gpus = run.job.gpus
        if self.config.warmup_seconds <= self.now <= self.config.end_seconds:
            self.lost += ((self.now - checkpoint) + self.config.restart_seconds) * gpus
            self.lost_step += self.config.restart_seconds * gpus
            self.preempted += 1
        self.records[job_id].preemptions += 1
        self.recent_requeues.append(self.now)
        self._enqueue(run.job, run.work_left - saved, resumed=True)

    def _enqueue(self, job: Job, work_left: float, *, resumed: bool) -> None:
        priority = -self._arrival_rank(job) if self.policy.fifo else job.priority
        queued = QueuedRun(
            id=job.id,
            user=job.user,
            project=job.tier,
            priority=priority,
            slots_per_node=job.slots_per_node,
            nodes=job.nodes,
            queued_at=EPOCH + timedelta(seconds=self.now),
        )
        self.waiting[job.id] = Waiting(job, queued, work_left, resumed)
        self.max_queued = max(self.max_queued, len(self.waiting))

    def _arrival_rank(self, job: Job) -> int:
        return int(job.id.rsplit("-", 1)[1])

    # --- the scheduling pass --------------------------------------------------------------

    def _worker_states(self) -> list[WorkerState]:
        return [WorkerState(name, self.capacity, tuple(free)) for name, free in self.free.items()]

    def _usage(self) -> tuple[dict[str, int], dict[str, int]]:
        """GPU slots held per user and per project (the quotas' usage)."""
        return (
            {u: n for u, n in self.held_by_user.items() if n},
            {p: n for p, n in self.held_by_project.items() if n},
        )

    def _pass(self) -> int:
        """One scheduling pass; returns how many runs it started."""
        if not self.waiting:
            return 0
        self.passes += 1
        queued = [w.queued for w in self.waiting.values()]
        workers = self._worker_states()
        user_usage, project_usage = self._usage()
        history = None if self.policy.fifo else self._history()
        if any(self.free.values()):
            decision = decide(
                queued,
                workers,
                user_usage=user_usage,
                project_usage=project_usage,
                recent_gpu_seconds=history,
            )
        else:
            decision = Decision([], {}, {})  # what `decide` returns with no free slot
        running_before = list(self.active.values())
        for assignment in decision.assignments:
            self._start(assignment.run_id, assignment.nodes)
        if self.policy.preemption:
            self._preempt(queued, decision, workers, running_before, user_usage, project_usage)
        return len(decision.assignments)

    def _start(self, job_id: str, nodes: tuple[NodePlacement, ...]) -> None:
        waiting = self.waiting.pop(job_id)
        for node in nodes:
            free = self.free[node.worker]
            for slot in node.slots:
                if slot in free:
                    free.remove(slot)
                else:
                    self.double_booked += 1
        record = self.records[job_id]
        if record.first_start is None:
            record.first_start = self.now
        overhead = self.config.restart_seconds if waiting.resumed else 0.0
        attempt = record.preemptions
        run = Active(
            job=waiting.job,
            nodes=nodes,
            started=self.now,
            compute_start=self.now + overhead,
            work_left=waiting.work_left,
            attempt=attempt,
        )
        self.active[job_id] = run
        self._hold(run.job, +1)
        self._push(run.end, "finish", job_id, attempt)

    def _release(self, run: Active) -> None:
        self._hold(run.job, -1)
        del self.active[run.job.id]
        for node in run.nodes:
            self.free[node.worker].extend(node.slots)

    def _preempt(
        self,
        queued: list[QueuedRun],
        decision: Decision,
        workers: list[WorkerState],
        running: list[Active],
        user_usage: dict[str, int],
        project_usage: dict[str, int],
    ) -> None:
        """As `preempt.request_preemptions`: the same inputs, from the same moment (the free
        slots and usage read before this pass's placements were applied)."""
        c = self.config
        blocked = blocked_runs(
            queued,
            decision,
            quotas=Quotas(),
            user_usage=user_usage,
            project_usage=project_usage,
            recent_gpu_seconds=self._history(),
        )
        if not blocked:
            return
        while self.recent_requeues and self.recent_requeues[0] < self.now - HOUR:
            self.recent_requeues.popleft()
        done = len(self.recent_requeues)
        pending = sum(1 for r in self.active.values() if r.preempt_at is not None)
        policy = PreemptionPolicy(
            min_runtime_seconds=c.min_runtime_seconds,
            budget=c.preemptions_per_hour - done - pending,
        )
        views = [
            RunningRun(
                id=r.job.id,
                user=r.job.user,
                priority=r.job.priority,
                nodes=r.nodes,
                running_seconds=self.now - r.started,
                seconds_since_checkpoint=self.now
                - r.last_checkpoint(self.now, c.checkpoint_seconds),
                preempting=r.preempt_at is not None,
            )
            for r in running
        ]
        for chosen in plan_preemptions(blocked, workers, views, policy):
            victim = self.active[chosen.victim]
            victim.preempt_at = self.now
            self._push(self.now + c.drain_seconds, "stop", victim.job.id, victim.attempt)

    # --- accounting -----------------------------------------------------------------------

    def _hold(self, job: Job, sign: int) -> None:
        """`job` starts (+1) or stops (-1) holding its GPUs; its user's GPU-time is brought up
        to now first, at the rate that held until now."""
        self._accrue(job.user)
        self.held_by_user[job.user] += sign * job.gpus
        self.held_by_project[job.tier] += sign * job.gpus

    def _accrue(self, user: str) -> None:
        """`user`'s GPU-time up to now: utilisation, fairness, and the fair-share history."""
        c = self.config
        begin = self.accrued_until.get(user, self.now)
        self.accrued_until[user] = self.now
        gpus = self.held_by_user.get(user, 0)
        if gpus == 0 or self.now <= begin:
            return
        gpu_seconds = (self.now - begin) * gpus
        self.recent[user] += gpu_seconds
        bucket = self.buckets[int(begin // HOUR)]
        bucket[user] = bucket.get(user, 0.0) + gpu_seconds
        low, high = max(begin, c.warmup_seconds), min(self.now, c.end_seconds)
        if high > low:
            self.busy += (high - low) * gpus
            self.user_gpu_seconds[user] += (high - low) * gpus

    def _history(self) -> dict[str, float]:
        """Each user's GPU-seconds in the fair-share window, up to now."""
        now, held, since = self.now, self.held_by_user, self.accrued_until
        return {
            u: r + held.get(u, 0) * (now - since.get(u, now)) for u, r in self.recent.items()
        } | {
            u: n * (now - since.get(u, now)) for u, n in held.items() if n and u not in self.recent
        }

    def _accrue_all(self) -> None:
        for user, gpus in self.held_by_user.items():
            if gpus:
                self._accrue(user)

    def _expire_history(self) -> None:
        """Hours that left the fair-share window stop counting (the snapshot's window)."""
        oldest = int((self.now - self.config.fair_share_window_seconds) // HOUR)
        for hour in [h for h in self.buckets if h < oldest]:
            for user, seconds in self.buckets.pop(hour).items():
                self.recent[user] -= seconds

    def _outcome(self) -> Outcome:
        c = self.config
        return Outcome(
            records=self.records,
            busy_gpu_seconds=self.busy,
            measured_seconds=max(c.end_seconds - c.warmup_seconds, 1.0),
            gpus=c.gpus,
            user_gpu_seconds=dict(self.user_gpu_seconds),
            lost_gpu_seconds=self.lost,
            lost_gpu_seconds_step_checkpoint=self.lost_step,
            preemptions=self.preempted,
            passes=self.passes,
            queued_at_end=set(self.waiting),
            running_at_end=set(self.active),
            free_at_end={name: list(free) for name, free in self.free.items()},
            max_queued=self.max_queued,
            double_booked=self.double_booked,
        )
