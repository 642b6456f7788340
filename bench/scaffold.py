"""What the metric benches share: JSON-line output with the load average, a scratch PostgreSQL
database, and a running run whose attempt a bench worker holds (the ingester stores only events
of the worker holding their attempt)."""

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from server.attempts.models import AttemptNode, RunAttempt
from server.db import make_engine
from server.experiments.models import Experiment
from server.projects.models import Project
from server.runs.models import Run
from server.users.models import User

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/{}"
PG_ADMIN = PG.format("test")
WORKER = "bench-worker"


def emit(bench: str, value: float, unit: str, target: str, **extra: object) -> None:
    """One JSON line; the machine is shared, so the load average goes with every figure."""
    record = {"bench": bench, "value": round(value, 3), "unit": unit, "target": target}
    record |= extra | {"load_average_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(record), flush=True)


@contextmanager
def scratch_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A fresh PostgreSQL database (its name and an engine), dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG.format(name))
    try:
        yield name, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def running_run(session: Session) -> tuple[str, str, int]:
    """An admin, their project and a running run whose attempt 1 WORKER holds, committed.
    Returns the user id, the run id and the attempt's fence."""
    user = User(email="bench@example.test", name="bench", is_admin=True)
    session.add(user)
    session.flush()
    project = Project(name="bench", created_by=user.id)
    session.add(project)
    session.flush()
    spec = {"name": "bench", "project": "bench", "model": {"entrypoint": "a.b:C"}}
    experiment = Experiment(
        project_id=project.id, owner_id=user.id, name="bench", spec=spec, tags=[]
    )
    session.add(experiment)
    session.flush()
    run = Run(
        experiment_id=experiment.id,
        project_id=project.id,
        owner_id=user.id,
        state="running",
        spec=spec,
        params={},
    )
    session.add(run)
    session.flush()
    attempt = RunAttempt(run_id=run.id, attempt=1, created_at=datetime.now(UTC))
    session.add(attempt)
    session.flush()
    session.add(AttemptNode(fence=attempt.fence, node_rank=0, worker_name=WORKER, slots=[]))
    session.commit()
    return user.id, run.id, attempt.fence
