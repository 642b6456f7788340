"""The runs list on PostgreSQL with 10,000 runs of 20 metrics and 4 params each: the first page
(50 rows) sorted by a metric with 20 metric columns, filtered by a metric and a param, against
the same first page in the default order without columns (the baseline, same run, same data).

Server time: each request goes through the real app in process (FastAPI TestClient: routing,
auth, SQL, serialisation), timed around the call; the median and p95 of --repeat calls after
--warmup. Prints one JSON line per case and one comparison; asserts nothing.

    python bench/runs_list.py [--runs 10000] [--metrics 20] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.orm import Session

import server.models
from runyard.schemas.spec import ExperimentSpec
from server.app import create_app
from server.db import make_engine
from server.experiments.models import Experiment
from server.metrics.models import MetricSeries
from server.projects.models import Project, ProjectMember, Role
from server.runs.models import Run, RunParam
from server.runs.params import comparable
from server.settings import Settings
from server.users.models import User
from server.users.tokens import issue_token

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/{}"
REDIS = "redis://127.0.0.1:6379/0"


@contextmanager
def _database() -> Iterator[tuple[str, Engine]]:
    name = f"runyard_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG.format("test"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG.format(name))
    try:
        yield PG.format(name), engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fill(engine: Engine, runs: int, metrics: int) -> str:
    """The data set; returns a user token."""
    rng = random.Random(0)
    server.models.metadata.create_all(engine)
    with Session(engine) as session:
        user = User(email="bench@example.test", name="bench")
        session.add(user)
        session.flush()
        _, token = issue_token(session, kind="user", name="bench", user_id=user.id)
        project = Project(name="bench", created_by=user.id)
        session.add(project)
        session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.admin.value))
        spec = ExperimentSpec.model_validate(
            {"name": "search", "project": "bench", "model": {"entrypoint": "a.b:C"}}
        ).model_dump(mode="json")
        experiments = []
        for i in range(max(1, runs // 100)):
            experiment = Experiment(
                project_id=project.id, owner_id=user.id, name=f"search-{i}", spec=spec, tags=[]
            )
            session.add(experiment)
            experiments.append(experiment)
        session.flush()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        run_rows: list[dict[str, Any]] = []
        series_rows: list[dict[str, Any]] = []
        param_rows: list[dict[str, Any]] = []
        for i in range(runs):
            run_id = str(uuid4())
            run_rows.append(
                {
                    "id": run_id,
                    "experiment_id": experiments[i % len(experiments)].id,
                    "project_id": project.id,
                    "owner_id": user.id,
                    "trial_index": i // len(experiments),
                    "state": "completed",
                    "attempt": 1,
                    "spec": spec,
                    "params": {},
                    "priority": 0,
                    "devices": [],
                    "created_at": start + timedelta(seconds=i),
                }
            )
            for m in range(metrics):
                last = rng.random()
                series_rows.append(
                    {
                        "run_id": run_id,
                        "key": f"metric_{m:02d}",
                        "points": 100,
                        "first_step": 0,
                        "last_step": 99,
                        "last_value": last,
                        "min_step": 3,
                        "min_value": last - rng.random(),
                        "max_step": 7,
                        "max_value": last + rng.random(),
                    }
                )
            for key, value in {
                "model.lr": 10 ** rng.uniform(-5, -1),
                "model.layers": rng.choice([2, 4, 8]),
                "model.optim": rng.choice(["adam", "sgd"]),
                "trainer.max_epochs": 10,
            }.items():
                number, text_value = comparable(value)
                param_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "value": value,
                        "value_num": number,
                        "value_text": text_value,
                    }
                )
        session.execute(insert(Run), run_rows)
        for chunk in range(0, len(series_rows), 20_000):
            session.execute(insert(MetricSeries), series_rows[chunk : chunk + 20_000])
        session.execute(insert(RunParam), param_rows)
        session.commit()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return token


def _time(
    client: TestClient, headers: dict[str, str], params: dict[str, Any], warmup: int, repeat: int
) -> tuple[list[float], int]:
    rows = 0
    for _ in range(warmup):
        client.get("/api/v1/runs", params=params, headers=headers).raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/api/v1/runs", params=params, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        rows = len(response.json()["items"])
    return samples, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    columns = [f"metrics.metric_{m:02d}" for m in range(args.metrics)]
    cases = {
        "baseline_newest_first": {"limit": 50},
        "sorted_by_metric_20_columns": {
            "limit": 50,
            "sort": "-metrics.metric_00",
            "columns": ",".join(columns),
        },
        "sorted_by_metric_filtered_20_columns": {
            "limit": 50,
            "sort": "-metrics.metric_00",
            "columns": ",".join(columns),
            "filter": "metrics.metric_01 > 0.5 and params.model.lr < 0.001",
        },
        "sorted_by_param_20_columns": {
            "limit": 50,
            "sort": "params.model.lr",
            "columns": ",".join(columns),
        },
    }
    with _database() as (url, engine), tempfile.TemporaryDirectory() as tmp:
        fill_start = time.perf_counter()
        token = _fill(engine, args.runs, args.metrics)
        print(
            json.dumps(
                {
                    "bench": "runs_list",
                    "event": "filled",
                    "runs": args.runs,
                    "metric_columns": args.metrics,
                    "fill_s": round(time.perf_counter() - fill_start, 1),
                }
            )
        )
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp),
            artifact_dir=Path(tmp) / "artifacts",
            redis_url=REDIS,
            redis_prefix=f"bench_{secrets.token_hex(4)}",
            web_dist=Path(tmp) / "no-dist",
        )
        headers = {"Authorization": f"Bearer {token}"}
        medians: dict[str, float] = {}
        with TestClient(create_app(settings)) as client:
            for name, params in cases.items():
                samples, rows = _time(client, headers, params, args.warmup, args.repeat)
                medians[name] = statistics.median(samples)
                print(
                    json.dumps(
                        {
                            "bench": "runs_list",
                            "case": name,
                            "backend": "postgresql",
                            "runs": args.runs,
                            "rows": rows,
                            "repeat": args.repeat,
                            "median_ms": round(medians[name], 2),
                            "p95_ms": round(statistics.quantiles(samples, n=20)[-1], 2),
                            "target_ms": 150 if name != "baseline_newest_first" else None,
                        }
                    )
                )
        base = medians["baseline_newest_first"]
        print(
            json.dumps(
                {
                    "bench": "runs_list",
                    "comparison": "sorted_by_metric_20_columns / baseline",
                    "ratio": round(medians["sorted_by_metric_20_columns"] / base, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
