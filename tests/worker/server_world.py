"""A real server (uvicorn in a thread, SQLite) with runs placed on workers the way the
scheduler places them, for tests of the worker's side of the protocol."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from runyard.schemas import ExperimentSpec, RunState
from server.attempts.models import AttemptNode
from server.attempts.service import open_attempt
from server.db import make_engine, utcnow
from server.experiments.models import Experiment
from server.projects.models import Project
from server.runs.models import Run
from server.runs.service import transition
from server.users.models import User
from server.users.tokens import issue_run_token, issue_token
from tests.e2e.live_server import LiveServer, live_server


@dataclass(frozen=True)
class Placed:
    run_id: str
    fence: int
    run_token: str


@dataclass
class ServerWorld:
    live: LiveServer
    engine: Engine

    @property
    def url(self) -> str:
        return self.live.url

    def worker_token(self, name: str = "w1") -> str:
        with Session(self.engine) as session:
            _, secret = issue_token(session, kind="worker", name=name, worker_name=name)
            session.commit()
            return secret

    def place(self, worker: str = "w1", spec: dict[str, Any] | None = None) -> Placed:
        """A run placed on `worker` (scheduled, its attempt recorded, a run token issued)."""
        with Session(self.engine) as session:
            owner = session.query(User).first()
            assert owner is not None
            project = session.query(Project).filter_by(name="worker-tests").first()
            if project is None:
                project = Project(name="worker-tests", created_by=owner.id)
                session.add(project)
                session.flush()
            body = spec or {"name": "t", "project": "worker-tests", "model": {"entrypoint": "m:C"}}
            full = ExperimentSpec.model_validate(body).model_dump(mode="json")
            experiment = Experiment(
                project_id=project.id, owner_id=owner.id, name="t", spec=full, tags=[]
            )
            session.add(experiment)
            session.flush()
            run = Run(
                experiment_id=experiment.id,
                project_id=project.id,
                owner_id=owner.id,
                spec=full,
                params={},
            )
            session.add(run)
            session.flush()
            transition(session, run, RunState.scheduled, f"placed on {worker}")
            attempt = open_attempt(session, run, [(worker, ["0"])], utcnow())
            token = issue_run_token(session, run.id, owner.id, attempt.fence)
            session.commit()
            return Placed(run.id, attempt.fence, token)

    def run(self, run_id: str) -> Run:
        with Session(self.engine, expire_on_commit=False) as session:
            run = session.get(Run, run_id)
            assert run is not None
            return run

    def node(self, fence: int, rank: int = 0) -> AttemptNode:
        with Session(self.engine, expire_on_commit=False) as session:
            node = session.get(AttemptNode, (fence, rank))
            assert node is not None
            return node

    def end(self, run_id: str, state: RunState, reason: str) -> None:
        with Session(self.engine) as session:
            run = session.get(Run, run_id)
            assert run is not None
            transition(session, run, state, reason)
            session.commit()


@contextmanager
def server_world(tmp_path: Path) -> Iterator[ServerWorld]:
    with live_server(tmp_path) as live:
        engine = make_engine(live.settings.database_url)
        try:
            yield ServerWorld(live, engine)
        finally:
            engine.dispose()
