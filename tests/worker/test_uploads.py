"""Uploads wait out a server outage, in order, and survive the worker process: a restarted
worker finishes what the previous one left in the spool. The server refuses uploads of an
attempt that has ended, and those are dropped instead of retried forever."""

from sqlalchemy.orm import Session

from runyard.schemas import RunState
from server.artifacts.models import Checkpoint
from server.db import make_engine
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port
from tests.worker.polling import wait_for
from tests.worker.server_world import ServerWorld
from worker.server_api import WorkerApi
from worker.uploads import Uploader, UploadJob


def job(run_id: str, fence: int, step: int) -> UploadJob:
    return UploadJob(
        run_id=run_id,
        fence=fence,
        kind="checkpoints",
        filename=f"step{step}.ckpt",
        fields={"attempt": "1", "epoch": str(step // 10), "step": str(step), "metrics": {}},
    )


def checkpoint(tmp_path, step: int):
    path = tmp_path / f"step{step}.ckpt"
    path.write_bytes(f"weights at {step}".encode())
    return path


def stored_steps(world: ServerWorld, run_id: str) -> list[int]:
    with Session(world.engine) as session:
        rows = session.query(Checkpoint).filter_by(run_id=run_id).order_by(Checkpoint.step)
        return [c.step for c in rows]


def test_uploads_queued_while_the_server_is_down_arrive_in_order_once_it_is_up(tmp_path):
    port = free_port()
    with live_server(tmp_path / "server", port=port) as live:
        world = ServerWorld(live, make_engine(live.settings.database_url))
        placed = world.place()
        token = world.worker_token()
    # The server is down now; the uploads wait (retried with backoff).
    api = WorkerApi(f"http://127.0.0.1:{port}", token, timeout=2)
    uploader = Uploader(api, tmp_path / "spool", max_backoff=0.5)
    uploader.start()
    done: list[int] = []
    for step in (10, 20):
        uploader.submit(
            job(placed.run_id, placed.fence, step),
            checkpoint(tmp_path, step).open("rb"),
            on_done=lambda record, step=step: done.append(step),
        )
    assert not uploader.wait(placed.fence, timeout=1)
    with live_server(tmp_path / "server", port=port):
        assert uploader.wait(placed.fence, timeout=60)
    uploader.close()
    api.close()
    world.engine.dispose()
    assert done == [10, 20]
    assert list((tmp_path / "spool").iterdir()) == []


def test_a_restarted_worker_finishes_the_uploads_its_previous_process_left(
    world: ServerWorld, tmp_path
):
    placed = world.place()
    token = world.worker_token()
    spool = tmp_path / "spool"
    dead = WorkerApi(f"http://127.0.0.1:{free_port()}", token, timeout=1)
    previous = Uploader(dead, spool, max_backoff=0.5)
    previous.start()
    previous.submit(job(placed.run_id, placed.fence, 10), checkpoint(tmp_path, 10).open("rb"))
    assert not previous.wait(placed.fence, timeout=0.5)  # its process "dies" here

    api = WorkerApi(world.url, token, timeout=5)
    successor = Uploader(api, spool)
    assert successor.start() == 1
    assert successor.wait(None, timeout=60)
    assert stored_steps(world, placed.run_id) == [10]
    successor.close()
    api.close()


def test_uploads_of_an_attempt_that_ended_are_dropped_not_retried(world: ServerWorld, tmp_path):
    placed = world.place()
    world.end(placed.run_id, RunState.canceled, "canceled by ann")
    api = WorkerApi(world.url, world.worker_token(), timeout=5)
    uploader = Uploader(api, tmp_path / "spool")
    uploader.start()
    uploader.submit(job(placed.run_id, placed.fence, 10), checkpoint(tmp_path, 10).open("rb"))
    wait_for(lambda: not list((tmp_path / "spool").iterdir()), what="the refused job to go")
    assert uploader.wait(placed.fence, timeout=5)
    assert stored_steps(world, placed.run_id) == []
    uploader.close()
    api.close()
