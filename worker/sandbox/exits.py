"""What a sandboxed run's end means (pure): the child's exit as RunProcess classifies it,
unless the sandbox knows better (a memory kill, a lapsed lease, a refused start)."""

import dataclasses
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from runyard.schemas.sizes import format_memory
from worker.process_group import ChildExit, classify_exit


@dataclass(frozen=True)
class Limits:
    memory: int | None = None
    """Bytes (memory and swap together); None: no limit."""
    processes: int | None = None
    """Processes and threads the run may add; None: no limit."""


@dataclass(frozen=True)
class SandboxEnd:
    """What the worker saw of a run's end."""

    returncode: int | None
    """The run child's exit (negative: its signal); None when the supervisor ended without
    reporting one."""
    canceled: str | None = None
    memory_killed: bool = False
    """The cgroup recorded an out-of-memory kill during the run."""
    lease_expired: bool = False
    refused: str | None = None
    pids_limit_hits: int = 0


def classify_sandbox_exit(end: SandboxEnd, limits: Limits, stderr_tail: Sequence[str]) -> ChildExit:
    returncode = end.returncode if end.returncode is not None else -signal.SIGKILL
    if end.canceled is not None:
        return classify_exit(returncode, stderr_tail, canceled=end.canceled)
    if end.memory_killed and limits.memory is not None:
        return ChildExit(
            "killed",
            returncode,
            signal.SIGKILL,
            f"exceeded its memory limit of {format_memory(limits.memory)} (the kernel "
            "stopped it); request more with resources.memory or use less",
        )
    if end.lease_expired:
        return ChildExit(
            "killed",
            returncode,
            signal.SIGKILL,
            "stopped by its sandbox: the worker did not renew the run's lease in time (it "
            "was paused or cut off)",
        )
    if end.refused is not None:
        return ChildExit("failed", -1, None, end.refused)
    if end.returncode is None:
        return ChildExit(
            "killed", returncode, signal.SIGKILL, "the run's sandbox ended unexpectedly"
        )
    result = classify_exit(returncode, stderr_tail)
    if result.outcome != "completed" and end.pids_limit_hits and limits.processes is not None:
        hint = (
            f" (the run reached its limit of {limits.processes} processes and threads; "
            "raise resources.processes)"
        )
        return dataclasses.replace(result, reason=result.reason + hint)
    return result
