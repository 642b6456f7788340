"""Preemption: which running runs give their slots to a queued run that cannot start, as a pure
function (no SQL, no I/O), so the rules can be property-tested and simulated at scale.

A queued run may take slots from running ones when
- it has a higher priority than they do, or
- its user holds less than a fair share of the cluster while theirs hold more (fair-share
  reclaim; never from a run of higher priority).
Only runs that are preemptible, have run for the minimum time, and are not already being
preempted can be chosen; at most `budget` preemptions happen (the scheduler derives it from
the rate limit). Among the candidates, those that lose the least work go first: work lost is
the time since the victim's last checkpoint times the slots it holds (all nodes of a gang are
freed together). The chosen set is minimal: no victim can be spared with the run still fitting.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.scheduler.placement import (
    Decision,
    NodePlacement,
    QueuedRun,
    Quotas,
    WorkerState,
    scheduling_order,
)


@dataclass(frozen=True)
class RunningRun:
    id: str
    user: str
    priority: int
    nodes: tuple[NodePlacement, ...]
    running_seconds: float
    """How long its current attempt has run."""
    seconds_since_checkpoint: float
    """Work it would lose if stopped now (it resumes from its last checkpoint)."""
    preemptible: bool = True
    preempting: bool = False
    """Already asked to stop for another run."""

    @property
    def slots(self) -> int:
        return sum(len(n.slots) for n in self.nodes)

    @property
    def lost_work(self) -> float:
        return self.seconds_since_checkpoint * self.slots


@dataclass(frozen=True)
class PreemptionPolicy:
    min_runtime_seconds: float = 300.0
    budget: int = 10
    """Preemptions still allowed now (the rate limit's remainder)."""
    fair_share: bool = True


@dataclass(frozen=True)
class Preemption:
    victim: str
    for_run: str
    reason: str


def fits(run: QueuedRun, free: Mapping[str, int]) -> bool:
    per_node = max(run.slots_per_node, 1)
    return sum(1 for count in free.values() if count >= per_node) >= run.nodes


def fair_share(workers: Iterable[WorkerState], users: Iterable[str]) -> float:
    """Slots per user with work in the cluster (queued or running)."""
    active = set(users)
    capacity = sum(len(w.slots) for w in workers if w.alive)
    return capacity / len(active) if active else float(capacity)


def _candidates(
    run: QueuedRun,
    running: Sequence[RunningRun],
    policy: PreemptionPolicy,
    usage: Mapping[str, int],
    share: float,
) -> list[tuple[RunningRun, str]]:
    eligible = [
        r
        for r in running
        if r.preemptible and not r.preempting and r.running_seconds >= policy.min_runtime_seconds
    ]
    chosen: list[tuple[RunningRun, str]] = []
    for victim in eligible:
        if victim.priority < run.priority:
            chosen.append((victim, f"preempted for run {run.id} (priority {run.priority})"))
        elif (
            policy.fair_share
            and victim.priority <= run.priority
            and victim.user != run.user
            and usage.get(run.user, 0) + run.total_slots <= share
            and usage.get(victim.user, 0) > share
        ):
            chosen.append(
                (
                    victim,
                    f"preempted for run {run.id} (fair share: its user holds less than "
                    f"{share:.1f} slots, this run's user more)",
                )
            )
    return chosen


def blocked_runs(
    queued: Sequence[QueuedRun],
    decision: Decision,
    *,
    quotas: Quotas,
    user_usage: Mapping[str, int],
    project_usage: Mapping[str, int],
    recent_gpu_seconds: Mapping[str, float] | None = None,
) -> list[QueuedRun]:
    """Queued runs `decision` left waiting for slots (not for a quota, not unplaceable), in
    scheduling order: the runs preemption may make room for."""
    placed = {a.run_id for a in decision.assignments}
    by_id = {r.id: r for r in queued}
    blocked = []
    capped = bool(quotas.per_user or quotas.per_project)
    for run_id in scheduling_order(list(queued), recent_gpu_seconds):
        run = by_id[run_id]
        if run_id in placed or run_id in decision.unplaceable:
            continue
        if not capped:
            blocked.append(run)
            continue
        user_cap = quotas.per_user.get(run.user)
        project_cap = quotas.per_project.get(run.project)
        over = (
            user_cap is not None and user_usage.get(run.user, 0) + run.total_slots > user_cap
        ) or (
            project_cap is not None
            and project_usage.get(run.project, 0) + run.total_slots > project_cap
        )
        if not over:
            blocked.append(run)
    return blocked


def plan_preemptions(
    blocked: Sequence[QueuedRun],
    workers: Sequence[WorkerState],
    running: Sequence[RunningRun],
    policy: PreemptionPolicy,
) -> list[Preemption]:
    """Victims for the first of the `blocked` runs (in scheduling order) that preemption can
    place; nothing while a preemption for any of them is still under way."""
    if policy.budget <= 0 or any(r.preempting for r in running):
        return []
    usage: dict[str, int] = defaultdict(int)
    for r in running:
        usage[r.user] += r.slots
    share = fair_share(workers, [*usage, *(b.user for b in blocked)])
    free = {w.name: len(w.free) for w in workers if w.alive}
    for run in blocked:
        candidates = _candidates(run, running, policy, usage, share)
        if not candidates:
            continue
        # Cheapest first; among equals, the lowest priority, then the smallest gang.
        candidates.sort(key=lambda c: (c[0].lost_work, c[0].priority, c[0].slots, c[0].id))
        chosen: list[tuple[RunningRun, str]] = []
        freed = dict(free)
        for victim, reason in candidates:
            if fits(run, freed):
                break
            chosen.append((victim, reason))
            for node in victim.nodes:
                freed[node.worker] = freed.get(node.worker, 0) + len(node.slots)
        if not fits(run, freed):
            continue
        # Spare whoever is not needed, most expensive first.
        for victim, reason in sorted(chosen, key=lambda c: -c[0].lost_work):
            without = dict(freed)
            for node in victim.nodes:
                without[node.worker] -= len(node.slots)
            if fits(run, without):
                chosen.remove((victim, reason))
                freed = without
        if len(chosen) > policy.budget:
            continue
        return [Preemption(victim.id, run.id, reason) for victim, reason in chosen]
    return []
