"""Why each queued run waits, and for about how long, as a pure function over the same inputs
and the same decision the scheduler uses (no SQL, no I/O).

For every queued run: its position in the cluster's order and in its user's own order, what
holds it (a quota, the fair-share order, no worker with enough free slots, a gang short of
nodes, slots held back for a larger run ahead of it, slots being freed by a preemption), and a
wait estimate. The estimate replays the queue in order against the running runs' expected
ends (from their progress: epochs done of epochs planned, and the time they took) and the
typical length of finished runs; it is None where nothing tells how long a run will take.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from server.scheduler.placement import Decision, QueuedRun, Quotas, WorkerState

Reason = Literal[
    "starting",
    "unplaceable",
    "over_quota",
    "no_node_with_free_slots",
    "gang_waiting",
    "held_for_larger_run",
    "reserved",
    "preempting",
    "fair_share",
]


@dataclass(frozen=True)
class Holding:
    """A running run, as the estimate sees it."""

    slots_by_worker: Mapping[str, int]
    remaining_seconds: float | None
    """Its expected time to finish; None when its progress is unknown."""
    preempting: bool = False
    """Asked to checkpoint and stop: its slots come free within the preemption grace."""


@dataclass(frozen=True)
class Waiting:
    run_id: str
    position: int
    user_position: int
    reason: Reason
    note: str
    wait_seconds: float | None


def remaining_seconds(elapsed: float, done: float, planned: float | None) -> float | None:
    """Time left for a run that did `done` of `planned` units (epochs) in `elapsed` seconds."""
    if planned is None or planned <= 0 or done <= 0:
        return None
    if done >= planned:
        return 0.0
    return elapsed * (planned - done) / done


@dataclass
class _Frees:
    """Free slots per worker over time, as running runs end."""

    free: dict[str, int]
    events: list[tuple[float, str, int]]
    """(seconds from now, worker, slots freed), in time order; unknown ends are left out."""

    def when_fits(self, per_node: int, nodes: int) -> tuple[float, dict[str, int]] | None:
        """The first moment it fits, with the free slots then (every end up to that moment
        counted)."""
        free = dict(self.free)
        if _fits(free, per_node, nodes):
            return 0.0, free
        for index, (at, worker, count) in enumerate(self.events):
            free[worker] = free.get(worker, 0) + count
            if _fits(free, per_node, nodes):
                for later_at, later_worker, later_count in self.events[index + 1 :]:
                    if later_at > at:
                        break
                    free[later_worker] = free.get(later_worker, 0) + later_count
                return at, free
        return None


def _fits(free: Mapping[str, int], per_node: int, nodes: int) -> bool:
    return sum(1 for count in free.values() if count >= per_node) >= nodes


def _take(free: dict[str, int], per_node: int, nodes: int) -> list[str]:
    chosen = sorted((w for w, c in free.items() if c >= per_node), key=lambda w: (free[w], w))
    chosen = chosen[:nodes]
    for worker in chosen:
        free[worker] -= per_node
    return chosen


def explain(
    order: Sequence[str],
    queued: Sequence[QueuedRun],
    workers: Sequence[WorkerState],
    decision: Decision,
    *,
    quotas: Quotas,
    user_usage: Mapping[str, int],
    project_usage: Mapping[str, int],
    running: Sequence[Holding],
    typical_seconds: float | None,
    preempting_for: Mapping[str, int] | None = None,
) -> list[Waiting]:
    """`order`: the queued run ids in scheduling order; `typical_seconds`: how long a run
    takes, for runs ahead that have not started yet (None: unknown); `preempting_for`: run id
    -> how many runs are being preempted to make room for it."""
    by_id = {r.id: r for r in queued}
    placed = {a.run_id for a in decision.assignments}
    reserved_by: dict[str, str] = {}
    for run_id, held in decision.reserved.items():
        for worker in held:
            reserved_by.setdefault(worker, run_id)
    live = [w for w in workers if w.alive]
    free_now = {w.name: len(w.free) for w in live}
    capacity = {w.name: len(w.slots) for w in live}
    events = sorted(
        (0.0 if h.preempting else float(h.remaining_seconds or 0.0), worker, count)
        for h in running
        if h.remaining_seconds is not None or h.preempting
        for worker, count in h.slots_by_worker.items()
    )
    frees = _Frees(dict(free_now), list(events))
    per_user: dict[str, int] = defaultdict(int)
    result = []
    for position, run_id in enumerate(order, start=1):
        run = by_id[run_id]
        per_user[run.user] += 1
        per_node = max(run.slots_per_node, 1)
        reason, note = _reason(
            run,
            per_node,
            placed,
            decision,
            quotas,
            user_usage,
            project_usage,
            free_now,
            capacity,
            reserved_by,
            (preempting_for or {}).get(run.id, 0),
            position,
        )
        wait = _estimate(run, per_node, reason, frees, typical_seconds)
        result.append(Waiting(run.id, position, per_user[run.user], reason, note, wait))
    return result


def _reason(
    run: QueuedRun,
    per_node: int,
    placed: set[str],
    decision: Decision,
    quotas: Quotas,
    user_usage: Mapping[str, int],
    project_usage: Mapping[str, int],
    free_now: Mapping[str, int],
    capacity: Mapping[str, int],
    reserved_by: Mapping[str, str],
    preemptions: int,
    position: int,
) -> tuple[Reason, str]:
    need = run.total_slots
    if run.id in placed:
        return "starting", "slots are free: it starts on the scheduler's next tick"
    if run.id in decision.unplaceable:
        return "unplaceable", decision.unplaceable[run.id]
    user_cap = quotas.per_user.get(run.user)
    if user_cap is not None and user_usage.get(run.user, 0) + need > user_cap:
        return "over_quota", (
            f"its owner holds {user_usage.get(run.user, 0)} of a {user_cap}-slot quota and it "
            f"needs {need}"
        )
    project_cap = quotas.per_project.get(run.project)
    if project_cap is not None and project_usage.get(run.project, 0) + need > project_cap:
        return "over_quota", (
            f"its project holds {project_usage.get(run.project, 0)} of a {project_cap}-slot "
            f"quota and it needs {need}"
        )
    if preemptions:
        return "preempting", (
            f"{preemptions} run(s) are checkpointing and stopping to make room for it"
        )
    fitting = [w for w, count in free_now.items() if count >= per_node]
    if run.id in decision.reserved:
        held = ", ".join(decision.reserved[run.id])
        if run.nodes > 1:
            return "gang_waiting", (
                f"a gang of {run.nodes} nodes with {per_node} free slot(s) each: {len(fitting)} "
                f"worker(s) have that now, {run.nodes - len(fitting)} more needed; holding "
                f"{held} while they drain"
            )
        return "reserved", f"holding {held} while it drains to {per_node} free slot(s)"
    open_fitting = [w for w in fitting if w not in reserved_by]
    if len(fitting) >= run.nodes > len(open_fitting):
        return "held_for_larger_run", (
            "the free slots it fits in are held back for a larger run ahead of it, so that "
            "run is not starved"
        )
    if len(fitting) >= run.nodes and position > 1:
        return "fair_share", (
            "slots are free, but runs ahead of it in the fair-share order take them first"
        )
    if run.nodes > 1:
        have = len(fitting)
        return "gang_waiting", (
            f"a gang of {run.nodes} nodes with {per_node} free slot(s) each; {have} "
            f"worker(s) have that now, {run.nodes - have} more needed"
        )
    largest = max(free_now.values(), default=0)
    biggest = max(capacity.values(), default=0)
    return "no_node_with_free_slots", (
        f"no worker has {per_node} free slot(s) (the most free on one worker: {largest}; the "
        f"largest worker has {biggest})"
    )


def _estimate(
    run: QueuedRun,
    per_node: int,
    reason: Reason,
    frees: _Frees,
    typical_seconds: float | None,
) -> float | None:
    """When it could start if the runs ahead start as early as they can; it then holds its
    slots for `typical_seconds` (so the runs behind it see them taken)."""
    if reason in ("over_quota", "unplaceable"):
        return None
    fit = frees.when_fits(per_node, run.nodes)
    if fit is None:
        return None
    at, free = fit
    taken = _take(free, per_node, run.nodes)
    # The replay continues from this moment: the slots freed so far, minus what it took.
    frees.free = free
    frees.events = [e for e in frees.events if e[0] > at]
    if typical_seconds is not None:
        ends = [(at + typical_seconds, worker, per_node) for worker in taken]
        frees.events = sorted([*frees.events, *ends])
    return at
