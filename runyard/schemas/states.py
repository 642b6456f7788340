"""Run states and the transitions between them (a pure function both sides can check)."""

from enum import StrEnum


class RunState(StrEnum):
    queued = "queued"
    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    """Held by an adaptive (ASHA) search: not started yet, or at the end of a rung with its
    checkpoint, waiting to be promoted (queued again) or stopped (completed)."""
    completed = "completed"
    failed = "failed"
    canceled = "canceled"


TERMINAL_STATES = frozenset({RunState.completed, RunState.failed, RunState.canceled})

_ALLOWED: dict[RunState, frozenset[RunState]] = {
    RunState.queued: frozenset({RunState.scheduled, RunState.canceled, RunState.failed}),
    # scheduled -> queued: the worker never picked it up (lost before it started).
    RunState.scheduled: frozenset(
        {RunState.running, RunState.queued, RunState.canceled, RunState.failed}
    ),
    # running -> queued: requeued after worker loss or preemption (attempt + 1).
    # running -> paused: an ASHA trial reached the end of its rung.
    RunState.running: frozenset(
        {RunState.completed, RunState.failed, RunState.canceled, RunState.queued, RunState.paused}
    ),
    # paused -> queued: started or promoted by its search; -> completed: stopped by it.
    RunState.paused: frozenset(
        {RunState.queued, RunState.completed, RunState.failed, RunState.canceled}
    ),
    RunState.completed: frozenset(),
    RunState.failed: frozenset(),
    RunState.canceled: frozenset(),
}


def can_transition(current: RunState, target: RunState) -> bool:
    """Whether a run in `current` may move to `target`. Terminal states are final."""
    return target in _ALLOWED[current]
