"""Server test fixtures: real SQLite and PostgreSQL databases, real Redis, factories.

API tests that use `db_url` (directly or through `settings`, `app`, `client`, `session`) run
once per backend. Each backend's schema is created once per test session; every test leaves
the tables empty again and deletes its Redis keys.
"""

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import server.models
from runyard.schemas.spec import ExperimentSpec
from runyard.schemas.states import RunState
from server.app import create_app
from server.attempts.service import ACTIVE_STATES, current_attempt, open_attempt
from server.db import make_engine, utcnow
from server.experiments.models import Experiment
from server.projects.models import Project, ProjectMember, Role
from server.runs.models import Run
from server.runs.service import transition
from server.settings import Settings
from server.users.models import User
from server.users.tokens import issue_token

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
REDIS_URL = "redis://127.0.0.1:6379/0"


def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; returns its URL. Drop it with drop_postgres_database."""
    name = f"runyard_t_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL_TEMPLATE.format(name=name)


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class TestDatabase:
    __test__ = False  # a fixture value, not a test class

    url: str
    engine: Engine

    def empty(self) -> None:
        # DELETE, not TRUNCATE: on the small tables tests leave behind, PostgreSQL's TRUNCATE
        # costs ~0.4 s (it recreates every table's files) where DELETE takes milliseconds.
        with self.engine.begin() as conn:
            for table in reversed(server.models.metadata.sorted_tables):
                conn.execute(table.delete())


@dataclass
class _Databases:
    """Creates each backend's database on first use, once per test session."""

    tmp: Path
    made: dict[str, TestDatabase] = field(default_factory=dict)

    def get(self, backend: str) -> TestDatabase:
        if backend not in self.made:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / 'runyard.db'}"
            else:
                url = create_postgres_database()
            engine = make_engine(url)
            server.models.metadata.create_all(engine)
            self.made[backend] = TestDatabase(url, engine)
        return self.made[backend]

    def close(self) -> None:
        for backend, db in self.made.items():
            db.engine.dispose()
            if backend == "postgresql":
                drop_postgres_database(db.url)


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    databases = _Databases(tmp_path_factory.mktemp("db"))
    yield databases
    databases.close()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database(request: pytest.FixtureRequest, _databases: _Databases) -> Iterator[TestDatabase]:
    """The test's database, once per backend, emptied after the test."""
    db = _databases.get(request.param)
    yield db
    db.empty()


@pytest.fixture
def postgres_database(_databases: _Databases) -> Iterator[TestDatabase]:
    """For tests that need PostgreSQL specifically."""
    db = _databases.get("postgresql")
    yield db
    db.empty()


@pytest.fixture
def db_url(database: TestDatabase) -> str:
    return database.url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"runyard_t_{secrets.token_hex(6)}"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(db_url: str, redis_prefix: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        artifact_dir=tmp_path / "artifacts",
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        web_dist=tmp_path / "web-dist-absent",
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def session(database: TestDatabase) -> Iterator[Session]:
    with Session(database.engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def auth() -> Callable[[str], dict[str, str]]:
    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def make_user(session: Session) -> Callable[..., tuple[User, str]]:
    def make(is_admin: bool = False, name: str | None = None) -> tuple[User, str]:
        handle = name or f"user-{secrets.token_hex(4)}"
        user = User(email=f"{handle}@example.test", name=handle, is_admin=is_admin)
        session.add(user)
        session.flush()
        _, secret = issue_token(session, kind="user", name="test", user_id=user.id)
        session.commit()
        return user, secret

    return make


@pytest.fixture
def make_worker_token(session: Session) -> Callable[..., str]:
    def make(worker_name: str = "worker-1") -> str:
        _, secret = issue_token(session, kind="worker", name=worker_name, worker_name=worker_name)
        session.commit()
        return secret

    return make


@pytest.fixture
def make_run_token(session: Session) -> Callable[[Run], str]:
    def make(run: Run) -> str:
        """A run token for the run's current attempt (as the scheduler issues them)."""
        attempt = current_attempt(session, run)
        _, secret = issue_token(
            session,
            kind="run",
            name=f"run {run.id}",
            user_id=run.owner_id,
            run_id=run.id,
            fence=attempt.fence if attempt is not None else None,
        )
        session.commit()
        return secret

    return make


@pytest.fixture
def add_member(session: Session) -> Callable[..., ProjectMember]:
    def add(project: Project, user: User, role: Role | str) -> ProjectMember:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=Role(role).value)
        session.add(member)
        session.commit()
        return member

    return add


@pytest.fixture
def make_project(
    session: Session, add_member: Callable[..., ProjectMember]
) -> Callable[..., Project]:
    def make(owner: User, name: str | None = None) -> Project:
        project = Project(name=name or f"proj-{secrets.token_hex(4)}", created_by=owner.id)
        session.add(project)
        session.commit()
        add_member(project, owner, Role.admin)
        return project

    return make


def spec_for(project: Project, **overrides: Any) -> dict[str, Any]:
    """A minimal valid experiment spec (as a dict) for `project`."""
    spec: dict[str, Any] = {
        "name": "digits",
        "project": project.name,
        "model": {"entrypoint": "examples.digits:DigitsClassifier", "init_args": {"lr": 0.01}},
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def place(session: Session) -> Callable[..., Run]:
    """Places a queued run as the scheduler does: scheduled, its attempt on `worker`."""

    def place_run(run: Run | str, worker: str = "worker-1", slots: list[str] | None = None) -> Run:
        found = session.get(Run, run if isinstance(run, str) else run.id, populate_existing=True)
        assert found is not None
        transition(session, found, RunState.scheduled, f"placed on {worker}")
        open_attempt(session, found, [(worker, slots or ["0"])], utcnow())
        session.commit()
        return found

    return place_run


@pytest.fixture
def make_run(session: Session) -> Callable[..., Run]:
    def make(
        project: Project,
        owner: User,
        state: RunState | str = RunState.queued,
        experiment: Experiment | None = None,
        placed_on: str = "worker-1",
        **fields: Any,
    ) -> Run:
        """A run; a scheduled or running one has its attempt placed on `placed_on` (on the
        slots of `devices` when given)."""
        if experiment is None:
            spec = ExperimentSpec.model_validate(spec_for(project)).model_dump(mode="json")
            experiment = Experiment(
                project_id=project.id,
                owner_id=owner.id,
                name=spec["name"],
                spec=spec,
                tags=[],
            )
            session.add(experiment)
            session.flush()
        run = Run(
            experiment_id=experiment.id,
            project_id=project.id,
            owner_id=owner.id,
            state=RunState(state).value,
            spec=experiment.spec,
            params={},
            **fields,
        )
        session.add(run)
        session.flush()
        if run.state in ACTIVE_STATES:
            slots = [str(d) for d in fields.get("devices") or [0]]
            open_attempt(session, run, [(placed_on, slots)], utcnow())
        session.commit()
        return run

    return make
