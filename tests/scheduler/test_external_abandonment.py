"""External runs (logged by runyard.init or MLflow's client) have no worker to lose; the leader
gives one up as abandoned when its client is silent for the timeout while the server was up
to hear it, and never for a silence that was the server's own."""

from runyard.schemas import RunState
from server.runs.models import Run, RunTransition
from server.tracking.abandonment import hear_from

TIMEOUT = 60.0


def _external_run(factory, clock) -> str:
    return factory.run(
        kind="external", state=RunState.running, started_at=clock.now, last_contact_at=clock.now
    )


def _pass_time_with_the_server_up(scheduler, factory, clock, seconds: float) -> list[str]:
    abandoned: list[str] = []
    for _ in range(int(seconds // 5)):
        clock.advance(5)
        factory.server_up()
        abandoned += scheduler.tick().abandoned
    return abandoned


def test_a_run_whose_client_is_silent_past_the_timeout_is_failed_as_abandoned(
    make_scheduler, factory, clock
):
    run_id = _external_run(factory, clock)
    scheduler = make_scheduler(external_run_timeout_seconds=TIMEOUT)
    factory.server_up()
    scheduler.tick()
    assert _pass_time_with_the_server_up(scheduler, factory, clock, TIMEOUT - 5) == []
    assert factory.get(run_id).state == RunState.running
    assert _pass_time_with_the_server_up(scheduler, factory, clock, 10) == [run_id]
    run = factory.get(run_id)
    assert run.state == RunState.failed and run.abandoned_at is not None
    assert run.exit_reason.startswith("abandoned: its client was not heard from for 1 min")


def test_a_client_that_keeps_in_touch_is_never_given_up(make_scheduler, factory, clock):
    run_id = _external_run(factory, clock)
    scheduler = make_scheduler(external_run_timeout_seconds=TIMEOUT)
    factory.server_up()
    scheduler.tick()
    for _ in range(5):
        assert _pass_time_with_the_server_up(scheduler, factory, clock, TIMEOUT / 2) == []
        with factory.sessions() as s:
            hear_from(s, s.get(Run, run_id), clock.now)
            s.commit()
    assert factory.get(run_id).state == RunState.running


def test_silence_while_the_server_was_down_is_not_abandonment(make_scheduler, factory, clock):
    run_id = _external_run(factory, clock)
    scheduler = make_scheduler(external_run_timeout_seconds=TIMEOUT)
    factory.server_up()
    scheduler.tick()
    clock.advance(10 * TIMEOUT)  # the server was down: no client could have reached it
    assert scheduler.tick().abandoned == []
    factory.server_up()  # back: the clients get a whole timeout to be heard again
    assert scheduler.tick().abandoned == []
    assert _pass_time_with_the_server_up(scheduler, factory, clock, TIMEOUT - 5) == []
    assert _pass_time_with_the_server_up(scheduler, factory, clock, 10) == [run_id]


def test_scheduled_runs_are_never_judged_by_their_client(make_scheduler, factory, clock):
    run_id = factory.run(state=RunState.running, started_at=clock.now)
    scheduler = make_scheduler(external_run_timeout_seconds=TIMEOUT)
    factory.server_up()
    scheduler.tick()
    assert _pass_time_with_the_server_up(scheduler, factory, clock, 2 * TIMEOUT) == []
    assert factory.get(run_id).state == RunState.running


def test_an_abandoned_run_heard_again_runs_again_keeping_its_start(make_scheduler, factory, clock):
    run_id = _external_run(factory, clock)
    started = factory.get(run_id).started_at
    scheduler = make_scheduler(external_run_timeout_seconds=TIMEOUT)
    factory.server_up()
    scheduler.tick()
    _pass_time_with_the_server_up(scheduler, factory, clock, 2 * TIMEOUT)
    with factory.sessions() as s:
        hear_from(s, s.get(Run, run_id), clock.now)
        s.commit()
        moves = [
            (t.from_state, t.to_state)
            for t in s.query(RunTransition).filter_by(run_id=run_id).order_by(RunTransition.at)
        ]
    run = factory.get(run_id)
    assert run.state == RunState.running and run.abandoned_at is None
    assert run.finished_at is None and run.exit_reason is None and run.started_at == started
    assert moves[-2:] == [("running", "failed"), ("failed", "running")]
