"""How a sandboxed run's end is reported (pure): the sandbox's own knowledge (memory kill,
lapsed lease, refused start, a vanished supervisor) comes before the child's exit code."""

import signal

from worker.sandbox.exits import Limits, SandboxEnd, classify_sandbox_exit

TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "x", line 1',
    "BlockingIOError: [Errno 11]",
]


def test_a_memory_kill_names_the_limit_in_human_units():
    result = classify_sandbox_exit(
        SandboxEnd(returncode=-9, memory_killed=True), Limits(memory=4 << 30), []
    )
    assert result.outcome == "killed" and result.signal == signal.SIGKILL
    assert result.reason.startswith("exceeded its memory limit of 4.0 GiB")


def test_a_cancel_wins_over_what_the_kill_looked_like():
    end = SandboxEnd(returncode=-9, canceled="canceled by alice", memory_killed=True)
    result = classify_sandbox_exit(end, Limits(memory=1 << 30), [])
    assert (result.outcome, result.reason) == ("canceled", "canceled by alice")


def test_a_lapsed_lease_says_the_worker_stopped_renewing():
    result = classify_sandbox_exit(SandboxEnd(returncode=None, lease_expired=True), Limits(), [])
    assert result.outcome == "killed" and "did not renew" in result.reason


def test_a_supervisor_that_vanished_is_a_kill_not_a_success():
    result = classify_sandbox_exit(SandboxEnd(returncode=None), Limits(), [])
    assert result.outcome == "killed" and "ended unexpectedly" in result.reason


def test_a_refused_start_is_a_failure_with_its_reason():
    end = SandboxEnd(returncode=None, refused="could not fork the run's process: EAGAIN")
    result = classify_sandbox_exit(end, Limits(), [])
    assert (result.outcome, result.reason) == ("failed", "could not fork the run's process: EAGAIN")


def test_a_failure_at_the_process_limit_says_which_limit_to_raise():
    end = SandboxEnd(returncode=1, pids_limit_hits=3)
    result = classify_sandbox_exit(end, Limits(processes=64), TRACEBACK)
    assert result.outcome == "failed" and result.traceback
    assert result.reason == (
        "BlockingIOError: [Errno 11] (the run reached its limit of 64 processes and threads; "
        "raise resources.processes)"
    )


def test_otherwise_the_exit_is_classified_like_a_plain_child():
    assert classify_sandbox_exit(SandboxEnd(returncode=0), Limits(), []).outcome == "completed"
    segv = classify_sandbox_exit(SandboxEnd(returncode=-11), Limits(), [])
    assert segv.outcome == "killed" and "SIGSEGV" in segv.reason
