"""Checkpoint uploads wait out a server that is briefly unreachable, in order, and are
delivered once it answers; nothing is lost."""

from sqlalchemy.orm import Session

import server.models
from runyard.schemas import ExperimentSpec
from server.db import make_engine
from server.experiments.models import Experiment
from server.projects.models import Project
from server.runs.models import Run
from server.users.models import User
from server.users.tokens import issue_token
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port
from tests.worker.polling import wait_for
from worker.server_api import WorkerApi
from worker.uploads import Upload, Uploader


def make_run_and_token(database_url: str) -> tuple[str, str]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        owner = User(email="o@example.test", name="o")
        session.add(owner)
        session.flush()
        project = Project(name="uploads", created_by=owner.id)
        session.add(project)
        session.flush()
        spec = ExperimentSpec.model_validate(
            {"name": "u", "project": "uploads", "model": {"entrypoint": "m:C"}}
        ).model_dump(mode="json")
        experiment = Experiment(
            project_id=project.id, owner_id=owner.id, name="u", spec=spec, tags=[]
        )
        session.add(experiment)
        session.flush()
        run = Run(
            experiment_id=experiment.id,
            project_id=project.id,
            owner_id=owner.id,
            state="running",
            spec=spec,
            params={},
        )
        session.add(run)
        session.flush()
        _, token = issue_token(session, kind="worker", name="w", worker_name="w1")
        session.commit()
        run_id = run.id
    engine.dispose()
    return run_id, token


def test_uploads_queued_while_the_server_is_down_arrive_in_order_once_it_is_up(tmp_path):
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    database_url = f"sqlite:///{server_dir / 'runyard.db'}"
    engine = make_engine(database_url)
    server.models.metadata.create_all(engine)
    engine.dispose()
    run_id, token = make_run_and_token(database_url)

    port = free_port()
    api = WorkerApi(f"http://127.0.0.1:{port}", token, timeout=2)
    uploader = Uploader(api, max_backoff=0.5)
    stored: list[int] = []
    for step in (10, 20):
        path = tmp_path / f"step{step}.ckpt"
        path.write_bytes(f"weights at {step}".encode())
        uploader.submit(
            Upload(
                run_id=run_id,
                kind="checkpoints",
                path=path,
                fields={"attempt": "1", "epoch": str(step // 10), "step": str(step), "metrics": {}},
                on_done=lambda record, step=step: stored.append(step),
            )
        )
    # Nothing answers on that port yet: the uploads wait (retried with backoff).
    assert stored == []
    with live_server(server_dir, port=port):
        wait_for(lambda: len(stored) == 2, timeout=30, what="both uploads after the outage")
        assert uploader.close(timeout=10)
    api.close()
    assert stored == [10, 20]
