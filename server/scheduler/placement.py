"""Placement: which queued runs go on which worker slots, as a pure function.

No SQL and no I/O here, so the rules can be property-tested and timed on their own. The
leader loop (`server.scheduler.leader`) reads the database, calls `decide`, and applies the
result.

The rules, in order:
1. Higher `priority` first.
2. Within a priority, fair share: the user with the least recent GPU-time goes next. Each
   placement made in this decision charges its user `charge_per_slot` per slot, so two users
   with equal history alternate even within one decision.
3. Quotas: a run is skipped (stays queued) when placing it would take its user or its project
   over their GPU-slot quota.
4. Gang reservation: all slots of a run at once (one worker for a single-node run, `nodes`
   distinct workers for a multi-node run) or nothing.
5. Backfill without starvation: a multi-slot run that fits the cluster but not the free slots
   of now *reserves* the workers it is waiting for; smaller runs may use other workers only,
   so the reserved ones drain until the big run fits. Reservations are recomputed every
   decision from the same ordering, so two big runs cannot deadlock by each holding half.
"""

import heapq
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class QueuedRun:
    id: str
    user: str
    project: str
    priority: int
    slots_per_node: int
    nodes: int
    queued_at: datetime

    @property
    def total_slots(self) -> int:
        return self.slots_per_node * self.nodes


@dataclass(frozen=True)
class WorkerState:
    name: str
    slots: tuple[str, ...]
    """Every slot the worker advertises (its capacity)."""
    free: tuple[str, ...]
    """Slots not held by a running or scheduled run."""
    alive: bool = True


@dataclass(frozen=True)
class Quotas:
    """GPU-slot caps. A user or project missing from a mapping has no cap."""

    per_user: Mapping[str, int] = field(default_factory=dict)
    per_project: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class NodePlacement:
    worker: str
    slots: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    run_id: str
    nodes: tuple[NodePlacement, ...]
    """Node rank order: `nodes[0]` is rank 0 (its worker's address is the master address)."""


@dataclass(frozen=True)
class Decision:
    assignments: list[Assignment]
    reserved: dict[str, tuple[str, ...]]
    """Run id -> the workers held back for it because it could not fit yet."""
    unplaceable: dict[str, str]
    """Run id -> why no worker set of this cluster could ever hold it (bigger than any node)."""


@dataclass
class _Cluster:
    """Mutable scratch copy of the free slots for one decision."""

    free: dict[str, list[str]]
    capacity: dict[str, int]
    reserved: set[str] = field(default_factory=set)

    def open_workers(self) -> Iterable[str]:
        return (w for w in self.free if w not in self.reserved)

    def fits(self, slots_per_node: int, nodes: int) -> list[str] | None:
        """Best fit: the `nodes` open workers with the fewest free slots that still suffice,
        which keeps big holes for big runs."""
        candidates = [w for w in self.open_workers() if len(self.free[w]) >= slots_per_node]
        if len(candidates) < nodes:
            return None
        candidates.sort(key=lambda w: (len(self.free[w]), w))
        return candidates[:nodes]

    def could_ever_fit(self, slots_per_node: int, nodes: int) -> bool:
        return sum(1 for c in self.capacity.values() if c >= slots_per_node) >= nodes

    def reservation_for(self, slots_per_node: int, nodes: int) -> list[str] | None:
        """The open workers a blocked run waits for: those big enough, most free first (they
        drain soonest to the size needed)."""
        candidates = [w for w in self.open_workers() if self.capacity[w] >= slots_per_node]
        if len(candidates) < nodes:
            return None
        candidates.sort(key=lambda w: (-len(self.free[w]), w))
        return candidates[:nodes]

    def take(self, worker: str, count: int) -> tuple[str, ...]:
        taken, self.free[worker] = self.free[worker][:count], self.free[worker][count:]
        return tuple(taken)

    def max_open_free(self) -> int:
        return max((len(self.free[w]) for w in self.open_workers()), default=0)


def _slot_order(slot: str) -> tuple[int, str]:
    # CUDA ordinals sort numerically ("2" before "10"); other names alphabetically.
    return (int(slot), "") if slot.isdigit() else (1 << 30, slot)


def decide(
    queued: Iterable[QueuedRun],
    workers: Iterable[WorkerState],
    *,
    quotas: Quotas | None = None,
    user_usage: Mapping[str, int] | None = None,
    project_usage: Mapping[str, int] | None = None,
    recent_gpu_seconds: Mapping[str, float] | None = None,
    charge_per_slot: float = 60.0,
) -> Decision:
    """Decide which queued runs start now and on which slots.

    `user_usage`/`project_usage` are GPU slots already held (running or scheduled runs);
    `recent_gpu_seconds` is each user's recent GPU-time (the fair-share history).
    """
    live = [w for w in workers if w.alive]
    pass_ = _Pass(
        cluster=_Cluster(
            free={w.name: sorted(w.free, key=_slot_order) for w in live},
            capacity={w.name: len(w.slots) for w in live},
        ),
        quotas=quotas or Quotas(),
        used_by_user=defaultdict(int, user_usage or {}),
        used_by_project=defaultdict(int, project_usage or {}),
        share=defaultdict(float, recent_gpu_seconds or {}),
        charge_per_slot=charge_per_slot,
    )

    by_level = _by_level(queued)
    for priority in sorted(by_level, reverse=True):
        users = by_level[priority]
        _oldest_last(users)
        heap = [(pass_.share[u], u) for u in users]
        heapq.heapify(heap)
        while heap and pass_.free_total > 0:
            _, user = heapq.heappop(heap)
            pass_.consider(users[user].pop())
            if users[user]:
                # Pushed back after placing, so the entry carries the share just charged.
                heapq.heappush(heap, (pass_.share[user], user))

    return Decision(
        assignments=pass_.assignments, reserved=pass_.reserved, unplaceable=pass_.unplaceable
    )


def scheduling_order(
    queued: list[QueuedRun],
    recent_gpu_seconds: Mapping[str, float] | None = None,
    charge_per_slot: float = 60.0,
) -> list[str]:
    """Queued run ids in the order `decide` considers them: priority first, then within a
    priority the user with the least recent GPU-time, each run taken charging its user
    `charge_per_slot` per slot, each user's runs oldest first.

    This is the order of the assignments `decide` makes over a cluster big enough for every
    run and without quotas (where each run is placed in its turn), walked without building
    that cluster, so it stays O(n log n) at 100,000 queued runs."""
    share: defaultdict[str, float] = defaultdict(float, recent_gpu_seconds or {})
    by_level = _by_level(queued)
    order: list[str] = []
    for priority in sorted(by_level, reverse=True):
        users = by_level[priority]
        _oldest_last(users)
        heap = [(share[u], u) for u in users]
        heapq.heapify(heap)
        while heap:
            _, user = heapq.heappop(heap)
            run = users[user].pop()
            order.append(run.id)
            share[user] += charge_per_slot * max(run.slots_per_node, 1) * run.nodes
            if users[user]:
                heapq.heappush(heap, (share[user], user))
    return order


def _by_level(queued: Iterable[QueuedRun]) -> dict[int, dict[str, list[QueuedRun]]]:
    """priority -> user -> that user's runs (unsorted: see `_oldest_last`)."""
    by_level: dict[int, dict[str, list[QueuedRun]]] = defaultdict(lambda: defaultdict(list))
    for run in queued:
        by_level[run.priority][run.user].append(run)
    return by_level


_AGE = operator.attrgetter("queued_at", "id")


def _oldest_last(users: Mapping[str, list[QueuedRun]]) -> None:
    """Sorts each user's runs oldest last, so `pop()` takes the oldest. Done per priority level
    as it is reached, so a decision that fills the cluster at the top level sorts no more."""
    for runs in users.values():
        runs.sort(key=_AGE, reverse=True)


@dataclass
class _Pass:
    """The running state of one decision."""

    cluster: _Cluster
    quotas: Quotas
    used_by_user: dict[str, int]
    used_by_project: dict[str, int]
    share: dict[str, float]
    charge_per_slot: float
    assignments: list[Assignment] = field(default_factory=list)
    reserved: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unplaceable: dict[str, str] = field(default_factory=dict)
    free_total: int = 0
    max_free: int = 0
    _ever_fits: dict[tuple[int, int], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.free_total = sum(len(f) for f in self.cluster.free.values())
        self.max_free = self.cluster.max_open_free()

    def consider(self, run: QueuedRun) -> None:
        per_node = max(run.slots_per_node, 1)
        need = per_node * run.nodes
        shape = (per_node, run.nodes)
        if shape not in self._ever_fits:
            self._ever_fits[shape] = self.cluster.could_ever_fit(per_node, run.nodes)
        if not self._ever_fits[shape]:
            self.unplaceable[run.id] = (
                f"needs {run.nodes} worker(s) with {per_node} slot(s) each and the live workers "
                "are fewer or smaller; lower resources.gpus_per_node/nodes or add workers"
            )
            return
        if self._over_quota(run, need):
            return  # stays queued; the user's smaller runs may still fit

        chosen = self.cluster.fits(per_node, run.nodes) if per_node <= self.max_free else None
        if chosen is None:
            # Only a multi-slot run can be starved by a stream of smaller ones.
            if need > 1:
                self._reserve_for(run, per_node)
            return

        nodes = tuple(NodePlacement(w, self.cluster.take(w, per_node)) for w in chosen)
        self.assignments.append(Assignment(run.id, nodes))
        self.free_total -= need
        self.used_by_user[run.user] += need
        self.used_by_project[run.project] += need
        self.share[run.user] += self.charge_per_slot * need
        self.max_free = self.cluster.max_open_free()

    def _over_quota(self, run: QueuedRun, need: int) -> bool:
        user_cap = self.quotas.per_user.get(run.user)
        project_cap = self.quotas.per_project.get(run.project)
        return (user_cap is not None and self.used_by_user[run.user] + need > user_cap) or (
            project_cap is not None and self.used_by_project[run.project] + need > project_cap
        )

    def _reserve_for(self, run: QueuedRun, per_node: int) -> None:
        hold = self.cluster.reservation_for(per_node, run.nodes)
        if hold is None:
            return
        self.reserved[run.id] = tuple(hold)
        self.cluster.reserved.update(hold)
        self.free_total -= sum(len(self.cluster.free[w]) for w in hold)
        self.max_free = self.cluster.max_open_free()
