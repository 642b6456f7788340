"""runyard.init against the real server: runs logged from a process Runyard did not start,
through crashes (kill -9 of a real process) and a server outage, each step stored once."""

import atexit
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import runyard
from runyard.client import ApiError, Client
from server.db import make_engine, make_session_factory, utcnow
from server.runs.models import Run as RunRow
from server.tracking.abandonment import give_up_silent_runs
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port
from tests.worker.polling import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("tracking")) as running:
        with Client(running.url, running.admin_token) as client:
            client.ensure_project("vision")
        yield running


@pytest.fixture
def spool(tmp_path):
    return tmp_path / "spool"


def _init(server, spool, **options):
    return runyard.init(url=server.url, token=server.admin_token, spool_dir=spool, **options)


def full_series(server, run_id, key):
    response = httpx.get(
        f"{server.url}/api/v1/runs/{run_id}/metrics/{key}",
        params={"resolution": "full"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    response.raise_for_status()
    return response.json()["points"]


def run_of(server, run_id):
    with Client(server.url, server.admin_token) as client:
        return client.run(run_id)


def test_a_run_logged_with_runyard_init_is_an_external_run_with_its_points_and_params(
    server, spool
):
    run = _init(server, spool, project="vision", name="laptop", config={"opt": {"lr": 0.1}})
    for step in range(30):
        run.log({"loss": 1 / (step + 1)}, step=step)
    run.log_params({"batch_size": 32})
    assert run.finish() is True

    shown = run_of(server, run.id)
    assert shown["kind"] == "external" and shown["state"] == "completed"
    assert shown["experiment_name"] == "laptop"
    assert shown["params"] == {"opt.lr": 0.1, "batch_size": 32}
    points = full_series(server, run.id, "loss")
    assert [p["step"] for p in points] == list(range(30))
    assert [p["value"] for p in points] == [1 / (s + 1) for s in range(30)]
    assert not (spool / run.id).exists()


def test_steps_without_a_step_number_follow_each_other(server, spool):
    with _init(server, spool, project="vision", name="auto-steps") as run:
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        run.log({"a": 5.0}, step=10)
        run.log({"a": 6.0})
    assert [(p["step"], p["value"]) for p in full_series(server, run.id, "a")] == [
        (0, 1.0),
        (1, 2.0),
        (10, 5.0),
        (11, 6.0),
    ]


def test_an_exception_in_the_with_block_fails_the_run(server, spool):
    with pytest.raises(ZeroDivisionError), _init(server, spool, project="vision", name="x") as run:
        run.log({"a": 1.0})
        _ = 1 / 0
    shown = run_of(server, run.id)
    assert shown["state"] == "failed" and "ZeroDivisionError" in shown["exit_reason"]


def test_init_in_a_project_that_does_not_exist_says_how_to_create_it(server, spool):
    with pytest.raises(ApiError) as caught:
        _init(server, spool, project="nope", name="x")
    assert caught.value.status == 404 and "POST /api/v1/projects" in caught.value.message


CHILD = textwrap.dedent(
    """
    import sys
    import runyard

    if sys.argv[1] == "new":
        run = runyard.init(project="vision", name="crashy", config={"lr": 0.1},
                           flush_interval=0.02)
    else:
        run = runyard.init(resume=sys.argv[1], flush_interval=0.02)
    print("run", run.id, flush=True)
    step = int(sys.argv[2])
    while True:
        run.log({"loss": 1.0 / (step + 1), "acc": step / 1000}, step=step)
        if step % 50 == 49:
            run.flush()  # everything up to here is on disk or on the server
            print("durable", step, flush=True)
        step += 1
    """
)


def _start_child(url, token, spool, tmp_path, *args):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "RUNYARD_URL": url,
        "RUNYARD_TOKEN": token,
        "RUNYARD_SPOOL_DIR": str(spool),
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, env=env
    )


def _read_until(child, durable_step):
    """The child's run id (on its first line) and the step it last reported durable, read
    until that step is at least `durable_step`."""
    assert child.stdout is not None
    run_id, durable = None, -1
    for line in child.stdout:
        word, value = line.split()
        if word == "run":
            run_id = value
        else:
            durable = int(value)
            if durable >= durable_step:
                break
    return run_id, durable


def _kill(child):
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def _assert_each_step_once(url, token, run_id, steps) -> int:
    """Asserts `steps` lead each series, once each; returns how many points `loss` holds (the
    killed client may have spooled steps past the last one it reported durable)."""
    stored_counts = {}
    for key, value_of in (("loss", lambda s: 1.0 / (s + 1)), ("acc", lambda s: s / 1000)):
        points = full_series_at(url, token, run_id, key)
        stored = [p["step"] for p in points]
        assert stored[: len(steps)] == steps, f"{key}: missing or repeated steps"
        assert len(set(stored)) == len(stored), f"{key}: a step stored twice"
        assert [p["value"] for p in points] == [value_of(s) for s in stored]
        stored_counts[key] = len(stored)
    return stored_counts["loss"]


def _project_vision(url, token):
    with Client(url, token) as client:
        client.ensure_project("vision")


def test_a_crashed_runyard_init_client_resumes_its_spool_without_duplicates(spool, tmp_path):
    port, data = free_port(), tmp_path / "server"
    with live_server(data, port=port) as running:
        url, token = running.url, running.admin_token
        _project_vision(url, token)
        child = _start_child(url, token, spool, tmp_path, "new", "0")
        run_id, durable = _read_until(child, 300)
    # The server is down: the child logs on into its spool, then is killed mid-logging.
    _, durable = _read_until(child, durable + 300)
    _kill(child)
    assert list((spool / run_id).glob("batch-*.json")), "the killed client left no spool"

    with live_server(data, port=port):
        assert run_of_at(url, token, run_id)["state"] == "running"
        # A new process resumes the run: the spool the dead one left is sent first.
        resumed = runyard.init(resume=run_id, url=url, token=token, spool_dir=spool)
        for step in range(durable + 1, durable + 101):
            resumed.log({"loss": 1.0 / (step + 1), "acc": step / 1000}, step=step)
        assert resumed.finish() is True

        stored = _assert_each_step_once(url, token, run_id, list(range(durable + 101)))
        assert run_of_at(url, token, run_id)["state"] == "completed"
        summary = Client(url, token).metric_summary(run_id)
        loss = next(m for m in summary["metrics"] if m["key"] == "loss")
        assert loss["points"] == stored
    assert not (spool / run_id).exists()


def test_a_client_killed_while_sending_loses_and_repeats_nothing(server, spool, tmp_path):
    child = _start_child(server.url, server.admin_token, spool, tmp_path, "new", "0")
    run_id, durable = _read_until(child, 600)
    _kill(child)
    resumed = _init(server, spool, resume=run_id)
    assert resumed.finish() is True
    _assert_each_step_once(server.url, server.admin_token, run_id, list(range(durable + 1)))


def test_the_next_init_sends_a_crashed_clients_spool_and_ends_its_run_failed(spool, tmp_path):
    port, data = free_port(), tmp_path / "server"
    with live_server(data, port=port) as running:
        url, token = running.url, running.admin_token
        _project_vision(url, token)
        child = _start_child(url, token, spool, tmp_path, "new", "0")
        run_id, _ = _read_until(child, 0)
    _, durable = _read_until(child, 300)
    _kill(child)
    assert list((spool / run_id).glob("batch-*.json"))

    with live_server(data, port=port):
        later = runyard.init(project="vision", name="next", url=url, token=token, spool_dir=spool)
        assert later.finish() is True
        shown = run_of_at(url, token, run_id)
        assert shown["state"] == "failed" and "without finish()" in shown["exit_reason"]
        _assert_each_step_once(url, token, run_id, list(range(durable + 1)))
    assert not (spool / run_id).exists()


def _abandon(run):
    """What kill -9 does to a Run in this process: its thread stops, its lock goes, nothing
    runs at exit."""
    atexit.unregister(run._at_exit)
    run._finished = True
    run._stop.set()
    run._thread.join()
    run._spool.release(delete=False)


def test_a_batch_the_server_stored_before_the_crash_is_not_stored_again(server, spool):
    """The window kill -9 may hit: the server stored a batch, the client died before it
    removed the batch from its spool. Resuming sends it again; the server answers duplicate."""
    run = _init(server, spool, project="vision", name="window")
    run.log({"loss": 1.0}, step=0)
    run.log({"loss": 2.0}, step=1)
    run._cut()  # into the spool, as the sender thread does before sending
    [path] = (spool / run.id).glob("batch-*.json")
    saved = path.read_text()
    assert run.flush() is True and not path.exists()
    # Crash: the spool lock is released and the file is back, as if never removed.
    _abandon(run)
    path.write_text(saved)
    resumed = _init(server, spool, resume=run.id)
    assert not path.exists()
    resumed.log({"loss": 3.0}, step=2)
    assert resumed.finish() is True
    assert [(p["step"], p["value"]) for p in full_series(server, run.id, "loss")] == [
        (0, 1.0),
        (1, 2.0),
        (2, 3.0),
    ]
    assert Client(server.url, server.admin_token).external_run(run.id).last_seq == 1


def run_of_at(url, token, run_id):
    with Client(url, token) as client:
        return client.run(run_id)


def full_series_at(url, token, run_id, key):
    response = httpx.get(
        f"{url}/api/v1/runs/{run_id}/metrics/{key}",
        params={"resolution": "full"},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return response.json()["points"]


def test_points_logged_during_a_server_outage_arrive_once_when_it_is_back(spool, tmp_path):
    port = free_port()
    data = tmp_path / "outage"
    with live_server(data, port=port) as first:
        url, token = first.url, first.admin_token
        with Client(url, token) as client:
            client.ensure_project("vision")
        run = runyard.init(
            project="vision",
            name="outage",
            url=url,
            token=token,
            spool_dir=spool,
            flush_interval=0.05,
        )
        for step in range(100):
            run.log({"loss": float(step)}, step=step)
        assert run.flush() is True
    # The server is down: logging goes on into the spool.
    for step in range(100, 400):
        run.log({"loss": float(step)}, step=step)
    assert run.flush() is False
    assert list((spool / run.id).glob("batch-*.json"))
    with live_server(data, port=port):
        wait_for(
            lambda: not list((spool / run.id).glob("batch-*.json")),
            timeout=60,
            what="the spooled batches to reach the restarted server",
        )
        for step in range(400, 450):
            run.log({"loss": float(step)}, step=step)
        assert run.finish() is True
        points = full_series_at(url, token, run.id, "loss")
        assert [(p["step"], p["value"]) for p in points] == [(s, float(s)) for s in range(450)]
        assert run_of_at(url, token, run.id)["state"] == "completed"


def test_the_runyard_logger_logs_a_local_trainer_core_fit_as_an_external_run(
    server, spool, tmp_path
):
    from runyard.trainer_logger import RunyardLogger
    from tests.trainer_core.models import RegressionModel, loader, quiet_trainer

    logger = RunyardLogger(
        project="vision",
        name="regression-laptop",
        url=server.url,
        token=server.admin_token,
        spool_dir=spool,
    )
    trainer = quiet_trainer(tmp_path, max_epochs=2, logger=logger, log_every_n_steps=1)
    trainer.fit(RegressionModel(hidden=4), loader(), loader())

    shown = run_of(server, logger.version)
    assert shown["kind"] == "external" and shown["state"] == "completed"
    assert shown["params"]["hidden"] == 4 and shown["params"]["lr"] == 0.05
    train = full_series(server, logger.version, "train_loss")
    assert [p["step"] for p in train] == list(range(8))  # 4 batches x 2 epochs, every step
    val = full_series(server, logger.version, "val_loss")
    assert [p["epoch"] for p in val] == [0, 1]


def test_a_finish_the_server_missed_is_delivered_by_the_next_init(spool, tmp_path):
    port, data = free_port(), tmp_path / "server"
    with live_server(data, port=port) as running:
        url, token = running.url, running.admin_token
        _project_vision(url, token)
        run = runyard.init(project="vision", name="late-end", url=url, token=token, spool_dir=spool)
        run.log({"loss": 1.0}, step=0)
    run.log({"loss": 2.0}, step=1)
    assert run.finish("failed", "diverged") is False  # the server is away: it waits in the spool
    with live_server(data, port=port):
        runyard.init(project="vision", name="next", url=url, token=token, spool_dir=spool).finish()
        shown = run_of_at(url, token, run.id)
        assert shown["state"] == "failed" and shown["exit_reason"] == "diverged"
        assert [p["value"] for p in full_series_at(url, token, run.id, "loss")] == [1.0, 2.0]


def test_a_fit_that_raises_ends_its_runyard_logger_run_failed(server, spool, tmp_path):
    from runyard.trainer_logger import RunyardLogger
    from tests.trainer_core.models import RegressionModel, loader, quiet_trainer

    class Diverges(RegressionModel):
        def training_step(self, batch, batch_idx):
            if self.global_step == 2:
                raise FloatingPointError("loss is nan")
            return super().training_step(batch, batch_idx)

    logger = RunyardLogger(
        project="vision",
        name="diverges",
        url=server.url,
        token=server.admin_token,
        spool_dir=spool,
    )
    trainer = quiet_trainer(tmp_path, logger=logger, log_every_n_steps=1)
    with pytest.raises(FloatingPointError):
        trainer.fit(Diverges(hidden=4), loader())
    shown = run_of(server, logger.version)
    assert shown["state"] == "failed" and "failed" in shown["exit_reason"]
    assert [p["step"] for p in full_series(server, logger.version, "train_loss")] == [0, 1]


def _server_sessions(server):
    return make_session_factory(make_engine(server.settings.database_url))


def _last_contact(server, run_id):
    with _server_sessions(server)() as session:
        return session.get(RunRow, run_id).last_contact_at


def test_a_quiet_run_keeps_telling_the_server_it_is_alive(server, spool):
    run = _init(server, spool, project="vision", name="quiet", heartbeat_interval=0.05)
    first = _last_contact(server, run.id)
    wait_for(lambda: _last_contact(server, run.id) > first, timeout=30, what="a heartbeat")
    assert run.finish() is True


def test_a_killed_client_given_up_as_abandoned_is_resumed_and_runs_again(server, spool, tmp_path):
    child = _start_child(server.url, server.admin_token, spool, tmp_path, "new", "0")
    run_id, durable = _read_until(child, 300)
    _kill(child)
    with _server_sessions(server)() as session:  # the scheduler's verdict, an hour later
        later = utcnow() + timedelta(hours=1)
        assert run_id in give_up_silent_runs(session, later, timedelta(minutes=10))
        session.commit()
    assert run_of(server, run_id)["state"] == "failed"
    resumed = _init(server, spool, resume=run_id)
    assert run_of(server, run_id)["state"] == "running"
    for step in range(durable + 1, durable + 51):
        resumed.log({"loss": 1.0 / (step + 1), "acc": step / 1000}, step=step)
    assert resumed.finish() is True
    assert run_of(server, run_id)["state"] == "completed"
    _assert_each_step_once(server.url, server.admin_token, run_id, list(range(durable + 51)))
