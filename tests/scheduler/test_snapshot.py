"""The scheduler's snapshot of the database: each user's recent GPU-time for fair share."""

from datetime import timedelta

from runyard.schemas import RunState
from server.attempts.models import AttemptNode, RunAttempt
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import take_snapshot


def _held(factory, run_id: str, attempt: int, slots: int, since: float, until: float | None):
    """An attempt of the run whose node held `slots` slots from `since` seconds ago until
    `until` seconds ago (None: still holding)."""
    now = factory.clock.now
    with factory.sessions() as s:
        row = RunAttempt(run_id=run_id, attempt=attempt, created_at=now - timedelta(seconds=since))
        s.add(row)
        s.flush()
        s.add(
            AttemptNode(
                fence=row.fence,
                node_rank=0,
                worker_name="w1",
                slots=[str(i) for i in range(slots)],
                dispatched_at=now - timedelta(seconds=since),
                released_at=None if until is None else now - timedelta(seconds=until),
            )
        )
        s.commit()


def _recent(factory, window_seconds: float = 7 * 24 * 3600) -> dict[str, float]:
    settings = SchedulerSettings(fair_share_window_seconds=window_seconds)
    with factory.sessions() as s:
        return take_snapshot(s, settings, factory.clock.now).recent_gpu_seconds


def test_every_attempt_of_a_run_counts_toward_its_owners_gpu_time(factory):
    bob = factory.user("bob")
    run = factory.run(owner=bob, gpus=2, state=RunState.running)
    _held(factory, run, attempt=1, slots=2, since=3600, until=1800)  # preempted after 30 min
    _held(factory, run, attempt=2, slots=2, since=600, until=None)  # running for 10 min
    assert _recent(factory)[bob] == 2 * (1800 + 600)


def test_gpu_time_outside_the_window_is_not_counted(factory):
    ann = factory.user("ann")
    run = factory.run(owner=ann, state=RunState.completed)
    _held(factory, run, attempt=1, slots=1, since=7200, until=5400)  # ended before the window
    other = factory.run(owner=ann, state=RunState.completed)
    _held(factory, other, attempt=1, slots=1, since=4000, until=2000)  # straddles its start
    assert _recent(factory, window_seconds=3000)[ann] == 1000
