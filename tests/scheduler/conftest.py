"""Leader-loop fixtures: a real database (SQLite and PostgreSQL), real Redis, and a real
Celery sender whose messages land in Redis under the test's prefix."""

import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import server.models
from runyard.schemas import ExperimentSpec, RunState
from server.attempts.models import AttemptNode, RunAttempt, ServicePresence
from server.attempts.presence import SERVER
from server.attempts.service import current_attempt
from server.db import make_engine, make_session_factory, utcnow
from server.experiments.models import Experiment
from server.projects.models import Project
from server.runs.models import Run
from server.scheduler.dispatch import make_sender
from server.scheduler.leader import Scheduler
from server.scheduler.settings import SchedulerSettings
from server.users.models import User
from server.workers.models import Worker
from tests.server.conftest import create_postgres_database, drop_postgres_database

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sched') / 'runyard.db'}"
    else:
        url = create_postgres_database()
    engine = make_engine(url)
    server.models.metadata.create_all(engine)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def sessions(engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(engine)
    with engine.begin() as conn:
        for table in reversed(server.models.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"rysched-{secrets.token_hex(5)}"
    yield value
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{value}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    client.close()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()
        self.advance_per_reading = 0.0
        """Seconds each reading moves the clock on (time passing while a tick runs)."""

    def __call__(self) -> datetime:
        reading = self.now
        self.now += timedelta(seconds=self.advance_per_reading)
        return reading

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_scheduler(sessions, redis, prefix, clock) -> Callable[..., Scheduler]:
    def make(redis_client: Redis | None = None, **overrides: Any) -> Scheduler:
        """`redis_client`: another connection (one to a dead port plays a Redis outage)."""
        settings = SchedulerSettings(**({"worker_timeout_seconds": 30.0} | overrides))
        return Scheduler(
            settings,
            session_factory=sessions,
            redis=redis_client or redis,
            prefix=prefix,
            sender=make_sender(REDIS_URL, prefix),
            clock=clock,
        )

    return make


class Factory:
    """Rows the scheduler reads: users, a project, runs, workers."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        with sessions() as s:
            owner = User(email="owner@example.test", name="owner")
            s.add(owner)
            s.flush()
            project = Project(name="vision", created_by=owner.id)
            s.add(project)
            s.commit()
            self.owner_id, self.project_id = owner.id, project.id

    def user(self, name: str) -> str:
        with self.sessions() as s:
            user = User(email=f"{name}@example.test", name=name)
            s.add(user)
            s.commit()
            return user.id

    def run(
        self,
        *,
        owner: str | None = None,
        gpus: int = 1,
        nodes: int = 1,
        priority: int = 0,
        max_restarts: int = 2,
        state: RunState = RunState.queued,
        preemptible: bool = True,
        **fields: Any,
    ) -> str:
        spec = ExperimentSpec.model_validate(
            {
                "name": "exp",
                "project": "vision",
                "model": {"entrypoint": "examples.digits:DigitsClassifier"},
                "resources": {"gpus_per_node": gpus, "nodes": nodes},
                "priority": priority,
                "max_restarts": max_restarts,
                "preemptible": preemptible,
            }
        ).model_dump(mode="json")
        with self.sessions() as s:
            experiment = Experiment(
                project_id=self.project_id,
                owner_id=owner or self.owner_id,
                name="exp",
                spec=spec,
                tags=[],
            )
            s.add(experiment)
            s.flush()
            run = Run(
                experiment_id=experiment.id,
                project_id=self.project_id,
                owner_id=owner or self.owner_id,
                state=state.value,
                spec=spec,
                params={},
                priority=priority,
                queued_at=self.clock.now,
                **fields,
            )
            s.add(run)
            s.commit()
            self.clock.advance(0.001)  # distinct queued_at: submission order is well defined
            return run.id

    def worker(self, name: str, slots: int = 2, heartbeat_age: float = 0.0) -> str:
        with self.sessions() as s:
            worker = Worker(
                name=name,
                queue=f"worker.{name}",
                hostname=f"{name}.local",
                slots_total=slots,
                last_heartbeat=self.clock.now - timedelta(seconds=heartbeat_age),
            )
            s.add(worker)
            s.commit()
            return worker.id

    def heartbeat(self, name: str, incarnation: str | None = None) -> None:
        """An HTTP heartbeat as the server records it (and the server is up)."""
        with self.sessions() as s:
            worker = s.query(Worker).filter_by(name=name).one()
            worker.last_heartbeat = self.clock.now
            if incarnation is not None:
                worker.incarnation = incarnation
            s.commit()
        self.server_up()

    def server_up(self) -> None:
        """The server records its presence (as its beacon does every few seconds)."""
        with self.sessions() as s:
            row = s.get(ServicePresence, SERVER)
            if row is None:
                s.add(ServicePresence(name=SERVER, seen_at=self.clock.now))
            else:
                row.seen_at = self.clock.now
            s.commit()

    def accept(self, run_id: str, incarnation: str = "i-1") -> int:
        """The worker takes node 0 of the run's current attempt; returns its fence."""
        with self.sessions() as s:
            run = s.get(Run, run_id)
            attempt = current_attempt(s, run)
            node = s.get(AttemptNode, (attempt.fence, 0))
            node.seen_at = self.clock.now
            node.seen_incarnation = incarnation
            run.state = RunState.running.value
            s.commit()
            return attempt.fence

    def node(self, run_id: str, rank: int = 0) -> AttemptNode:
        with self.sessions() as s:
            run = s.get(Run, run_id)
            attempt = s.scalars(
                select(RunAttempt).where(
                    RunAttempt.run_id == run_id, RunAttempt.attempt == run.attempt
                )
            ).one()
            return s.get(AttemptNode, (attempt.fence, rank))

    def get(self, run_id: str) -> Run:
        with self.sessions() as s:
            return s.get(Run, run_id)


@pytest.fixture
def factory(sessions, clock) -> Factory:
    return Factory(sessions, clock)
