"""A tiny in-memory cluster that applies placement decisions, for the property tests.

It stands in for the database and the workers: runs are queued, placed by `decide`, hold
their slots until they complete or are canceled, and each user's GPU-time accumulates.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.scheduler.placement import (
    Assignment,
    Decision,
    QueuedRun,
    Quotas,
    WorkerState,
    decide,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class SimCluster:
    workers: dict[str, tuple[str, ...]]
    quotas: Quotas = field(default_factory=Quotas)
    queued: dict[str, QueuedRun] = field(default_factory=dict)
    running: dict[str, tuple[QueuedRun, Assignment]] = field(default_factory=dict)
    gpu_seconds: dict[str, float] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    clock: int = 0
    _next_id: int = 0

    def submit(
        self, user: str, slots: int = 1, nodes: int = 1, priority: int = 0, project: str = "p"
    ) -> str:
        self._next_id += 1
        self.clock += 1
        run = QueuedRun(
            id=f"r{self._next_id:05d}",
            user=user,
            project=project,
            priority=priority,
            slots_per_node=slots,
            nodes=nodes,
            queued_at=EPOCH + timedelta(seconds=self.clock),
        )
        self.queued[run.id] = run
        return run.id

    def held_slots(self) -> list[tuple[str, str]]:
        return [
            (node.worker, slot)
            for _, assignment in self.running.values()
            for node in assignment.nodes
            for slot in node.slots
        ]

    def worker_states(self) -> list[WorkerState]:
        held = set(self.held_slots())
        return [
            WorkerState(name, slots, tuple(s for s in slots if (name, s) not in held))
            for name, slots in self.workers.items()
        ]

    def usage(self, attr: str) -> dict[str, int]:
        used: dict[str, int] = {}
        for run, _ in self.running.values():
            key = getattr(run, attr)
            used[key] = used.get(key, 0) + run.total_slots
        return used

    def tick(self) -> Decision:
        """One scheduler decision, applied; then every running run accrues a second per slot."""
        decision = decide(
            self.queued.values(),
            self.worker_states(),
            quotas=self.quotas,
            user_usage=self.usage("user"),
            project_usage=self.usage("project"),
            recent_gpu_seconds=self.gpu_seconds,
        )
        for assignment in decision.assignments:
            run = self.queued.pop(assignment.run_id)
            self.running[run.id] = (run, assignment)
            self.started.append(run.id)
        for run, _ in self.running.values():
            self.gpu_seconds[run.user] = self.gpu_seconds.get(run.user, 0.0) + run.total_slots
        return decision

    def finish(self, run_id: str) -> None:
        self.running.pop(run_id, None)
        self.queued.pop(run_id, None)
