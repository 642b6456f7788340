"""Ingest throughput and downsampled-query latency, printed as JSON lines (never asserted).

    python bench/ingest.py                      # 1,000,000 points, 1,000 points per event
    python bench/ingest.py --events 200         # a quicker run

Publishes metric events to a Redis stream, runs the real ingester against a fresh PostgreSQL
database, and reports points/s stored end to end; then times the downsampled query of the
resulting series to 2,000 points. Creates and drops its own database and Redis prefix.
"""

import argparse
import json
import multiprocessing
import os
import secrets
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

# Runnable as `python bench/ingest.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import Redis
from sqlalchemy import Engine, create_engine, func, select, text

import server.models
from runyard.schemas.events import MetricPoint, MetricsEvent
from runyard.schemas.streams import EVENT_FIELD, events_stream
from server.db import make_engine, make_session_factory
from server.experiments.models import Experiment
from server.ingest.consumer import Ingester, IngestOptions
from server.metrics.models import MetricPointRow
from server.metrics.service import get_series
from server.projects.models import Project
from server.runs.models import Run
from server.users.models import User

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _emit(bench: str, value: float, unit: str, target: str, **extra: object) -> None:
    record = {"bench": bench, "value": round(value, 3), "unit": unit, "target": target}
    print(json.dumps(record | extra), flush=True)


def _make_run(session_factory) -> str:  # type: ignore[no-untyped-def]
    with session_factory() as session:
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
        session.commit()
        return run.id


def _backend_cpu(engine: Engine, database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving `database` (same host)."""
    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": database}
        ).all()
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this host, or gone
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def _publish(prefix: str, run_id: str, events: int, per_event: int) -> None:
    """Runs in its own process, as a worker would (and so off the ingester's GIL)."""
    redis = Redis.from_url(REDIS_URL)
    pipe = redis.pipeline(transaction=False)
    for seq in range(events):
        base = seq * per_event
        event = MetricsEvent(
            run_id=run_id,
            attempt=1,
            seq=seq,
            ts=datetime.now(UTC),
            points=[
                MetricPoint(
                    key="loss",
                    step=base + i,
                    value=((base + i) % 977) / 977.0,
                    wall_time=1e9 + base + i,
                )
                for i in range(per_event)
            ],
        )
        pipe.xadd(events_stream(prefix), {EVENT_FIELD: event.model_dump_json()})
        if seq % 50 == 49:
            pipe.execute()
    pipe.execute()
    redis.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--points-per-event", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=IngestOptions.batch_size)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()

    name = f"runyard_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    prefix = f"runyard_bench_{secrets.token_hex(4)}"
    redis = Redis.from_url(REDIS_URL)
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        server.models.metadata.create_all(engine)
        session_factory = make_session_factory(engine)
        run_id = _make_run(session_factory)
        total = args.events * args.points_per_event
        ingester = Ingester(
            session_factory,
            redis,
            prefix,
            consumer="bench",
            options=IngestOptions(batch_size=args.batch_size),
        )
        ingester.ensure_group()

        # The publisher runs in its own process, as a worker would. The ingester then drains
        # the backlog: that is the ingest rate (a catch-up after a restart looks the same).
        started = time.perf_counter()
        publisher = multiprocessing.get_context("spawn").Process(
            target=_publish, args=(prefix, run_id, args.events, args.points_per_event)
        )
        publisher.start()
        publisher.join()
        publish_s = time.perf_counter() - started
        _emit(
            "publish_points_per_s", total / publish_s, "points/s", "", seconds=round(publish_s, 2)
        )

        stop = threading.Event()
        thread = threading.Thread(target=ingester.run, args=(stop,))
        pg_before = _backend_cpu(engine, name)
        cpu_before = time.process_time()
        started = time.perf_counter()
        thread.start()
        while True:
            group = redis.xinfo_groups(events_stream(prefix))[0]
            if group["lag"] == 0 and group["pending"] == 0:
                break
            time.sleep(0.05)  # polling interval while waiting for the ingester to drain
        elapsed = time.perf_counter() - started
        ingester_cpu = time.process_time() - cpu_before
        pg_after = _backend_cpu(engine, name)
        pg_cpu = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
        stop.set()
        thread.join()
        with session_factory() as session:
            stored = session.scalar(select(func.count()).select_from(MetricPointRow))
        _emit(
            "ingest_points_per_s_postgresql",
            total / elapsed,
            "points/s",
            ">= 50000",
            points=stored,
            events=args.events,
            points_per_event=args.points_per_event,
            seconds=round(elapsed, 2),
            load_average_1m=os.getloadavg()[0],
        )
        # On a shared machine wall time depends on the neighbours; CPU time does not.
        _emit(
            "ingest_points_per_cpu_second_postgresql",
            total / (ingester_cpu + pg_cpu),
            "points/cpu-s",
            "",
            ingester_cpu_s=round(ingester_cpu, 2),
            postgres_cpu_s=round(pg_cpu, 2),
        )
        # Steady state: autovacuum would have analysed the table by the time anyone charts it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE metric_points"))
            conn.execute(text("VACUUM ANALYZE metric_rollups"))

        timings = []
        with session_factory() as session:
            for _ in range(args.queries):
                t0 = time.perf_counter()
                series = get_series(session, run_id, "loss", 2000, None, None)
                timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        _emit(
            "downsampled_query_ms_postgresql",
            statistics.median(timings),
            "ms (p50)",
            "< 200",
            p95=round(timings[int(0.95 * (len(timings) - 1))], 2),
            series_points=stored,
            returned_points=len(series.points),
            queries=args.queries,
        )
    finally:
        engine.dispose()
        keys = list(redis.scan_iter(match=f"{prefix}:*"))
        if keys:
            redis.delete(*keys)
        redis.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
