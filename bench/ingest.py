"""Metric ingest and storage, printed as JSON lines (never asserted).

    python bench/ingest.py                         # 1,000,000 points, 1,000 points per event
    python bench/ingest.py --events 200            # a quicker run
    python bench/ingest.py --mlflow-python /path/to/venv/bin/python   # MLflow side by side
    python bench/ingest.py --only mlflow --mlflow-python ...         # one side only
    python bench/ingest.py --format points         # events in the older one-object-per-point format

An MLflow venv apart from the project's (MLflow 2.22 needs SQLAlchemy 2.0, not 2.1):
    python -m venv mlflow-venv && mlflow-venv/bin/pip install mlflow==2.22.0 \
        psycopg2-binary==2.9.10 sqlalchemy==2.0.41

First `ingester_cpu_plan`, for each event format (the columns workers send, and the older
format): where the ingester's CPU per point goes (validation, columns, the block writer) and
PostgreSQL's for the same writes (docs/metric-store.md has the figures and what they mean).
Then, for 2 and then 1 ingester processes at once (each against a fresh PostgreSQL database):
publishes metric events to a Redis stream from another process, as workers would, then lets
the real ingesters drain the backlog and reports points/s end to end, the CPU each side spent
per point (ingester processes vs PostgreSQL backends, read from /proc: where the time goes),
and bytes per point on disk (blocks + rollups + summaries, with their indexes and TOAST). Then
the downsampled query of the series, and the full-resolution export rate (CSV and JSON). With
an MLflow install (its Python given, or `mlflow` importable), the same points go through an
MLflow tracking server on the same PostgreSQL with `log_batch`, and the same figures are
printed for it. Creates and drops its own databases and Redis prefixes. The machine is shared:
the load average is printed next to every figure.
"""

import argparse
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

# Runnable as `python bench/ingest.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import Redis
from sqlalchemy import Engine, select, text

import server.models
from bench.scaffold import PG, WORKER, emit, running_run, scratch_database
from runyard.schemas.events import (
    Event,
    EventAdapter,
    MetricColumnsEvent,
    MetricPoint,
    MetricsEvent,
    ReceivedEventAdapter,
)
from runyard.schemas.streams import EVENT_FIELD, events_stream
from server.db import make_engine, make_session_factory
from server.ingest.consumer import Ingester, IngestOptions
from server.ingest.metric_rows import metric_rows
from server.ingest.writer import write_batch
from server.metrics.models import MetricSeries
from server.metrics.service import export_series, get_series

REDIS_URL = "redis://127.0.0.1:6379/0"
METRIC_TABLES = ("metric_blocks", "metric_rollups", "metric_coarse_rollups", "metric_series")


def _make_run(session_factory) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A running run whose attempt 1 is held by WORKER. Returns the run id and the fence."""
    with session_factory() as session:
        _, run_id, fence = running_run(session)
        return run_id, fence


def _value(step: int) -> float:
    """A noisy, slowly falling loss: incompressible low bits, like a real one."""
    return 2.0 / (1.0 + step * 1e-5) + ((step * 2654435761) % 1000003) / 1000003.0 * 0.1


def _points(base: int, n: int) -> list[MetricPoint]:
    return [
        MetricPoint(
            key="loss",
            step=base + i,
            epoch=(base + i) // 10_000,
            value=_value(base + i),
            wall_time=1.7e9 + (base + i) * 0.0123,
        )
        for i in range(n)
    ]


def _event(run_id: str, fence: int, seq: int, per_event: int, fmt: str) -> Event:
    """One event of `per_event` points: as workers send them (columns), or in the older
    format (one JSON object per point) that the ingester still reads."""
    envelope = {
        "run_id": run_id,
        "attempt": 1,
        "fence": fence,
        "worker": WORKER,
        "seq": seq,
        "ts": datetime.now(UTC),
    }
    points = _points(seq * per_event, per_event)
    if fmt == "columns":
        return MetricColumnsEvent.of_points(points, **envelope)
    return MetricsEvent(points=points, **envelope)  # type: ignore[arg-type]


def _publish(prefix: str, run_id: str, fence: int, events: int, per_event: int, fmt: str) -> None:
    """Runs in its own process, as a worker would (and so off the ingesters' CPU account)."""
    redis = Redis.from_url(REDIS_URL)
    pipe = redis.pipeline(transaction=False)
    for seq in range(events):
        event = _event(run_id, fence, seq, per_event, fmt)
        pipe.xadd(events_stream(prefix), {EVENT_FIELD: EventAdapter.dump_json(event)})
        if seq % 50 == 49:
            pipe.execute()
    pipe.execute()
    redis.close()


def _ingest(url: str, prefix: str, consumer: str, batch_size: int, ready, go) -> None:  # type: ignore[no-untyped-def]
    """One ingester process, until SIGTERM. It connects to both stores, says it is `ready`,
    and starts consuming on `go`, so the measurement covers the draining and nothing else."""
    engine = make_engine(url)
    redis = Redis.from_url(REDIS_URL)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with engine.connect():
        pass  # the pooled connection the ingester will use (a PostgreSQL backend of its own)
    redis.ping()
    ready.put(consumer)
    go.wait()
    Ingester(
        make_session_factory(engine),
        redis,
        prefix,
        consumer=consumer,
        options=IngestOptions(batch_size=batch_size, block_ms=50),
    ).run(stop)
    engine.dispose()


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this host, or gone
        used += (int(fields[11]) + int(fields[12])) / ticks
    return used


def _backends(engine: Engine, database: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": database}
            )
        )


def _bytes(engine: Engine, tables: tuple[str, ...]) -> int:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        return int(
            sum(
                conn.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t})
                or 0
                for t in tables
            )
        )


def _bench_runyard(args: argparse.Namespace, ingesters: int, final: bool) -> None:
    with scratch_database("runyard_bench") as (name, engine):
        server.models.metadata.create_all(engine)
        session_factory = make_session_factory(engine)
        run_id, fence = _make_run(session_factory)
        total = args.events * args.points_per_event
        prefix = f"runyard_bench_{secrets.token_hex(4)}"
        redis = Redis.from_url(REDIS_URL)
        try:
            redis.xgroup_create(events_stream(prefix), "ingest", id="0", mkstream=True)
            spawn = multiprocessing.get_context("spawn")
            started = time.perf_counter()
            publisher = spawn.Process(
                target=_publish,
                args=(prefix, run_id, fence, args.events, args.points_per_event, args.format),
            )
            publisher.start()
            publisher.join()
            if final:
                seconds = time.perf_counter() - started
                emit(
                    "publish_points_per_s",
                    total / seconds,
                    "points/s",
                    "",
                    seconds=round(seconds, 2),
                )

            ready, go = spawn.Queue(), spawn.Event()
            procs = [
                spawn.Process(
                    target=_ingest,
                    args=(PG.format(name), prefix, f"bench-{i}", args.batch_size, ready, go),
                )
                for i in range(ingesters)
            ]
            for proc in procs:
                proc.start()
            for _ in procs:
                ready.get(timeout=120)  # every ingester connected, none consuming yet
            # Counted from here: the ingesters' backends exist, so PostgreSQL's CPU is theirs.
            pids = [p.pid for p in procs if p.pid is not None]
            backends = [b for b in _backends(engine, name)]
            ingest_before, pg_before = _cpu_seconds(pids), _cpu_seconds(backends)
            started = time.perf_counter()
            go.set()
            while True:
                group = redis.xinfo_groups(events_stream(prefix))[0]
                if group["lag"] == 0 and group["pending"] == 0:
                    break
                time.sleep(0.02)  # polling interval while the ingesters drain the stream
            elapsed = time.perf_counter() - started
            ingest_cpu = _cpu_seconds(pids) - ingest_before
            pg_cpu = _cpu_seconds(_backends(engine, name)) - pg_before
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.join(30)
        finally:
            keys = list(redis.scan_iter(match=f"{prefix}:*"))
            if keys:
                redis.delete(*keys)
            redis.close()
        with session_factory() as session:
            stored = session.scalar(
                select(MetricSeries.points).where(MetricSeries.run_id == run_id)
            )
        label = f"{ingesters}_ingester{'s' if ingesters > 1 else ''}"
        emit(
            f"ingest_points_per_s_runyard_{label}",
            total / elapsed,
            "points/s",
            ">= 300000",
            format=args.format,
            points=stored,
            events=args.events,
            points_per_event=args.points_per_event,
            seconds=round(elapsed, 2),
        )
        emit(
            f"ingest_points_per_cpu_second_runyard_{label}",
            total / (ingest_cpu + pg_cpu),
            "points/cpu-s",
            "",
            ingester_us_per_point=round(ingest_cpu / total * 1e6, 3),
            postgres_us_per_point=round(pg_cpu / total * 1e6, 3),
        )
        if not final:
            return
        size = _bytes(engine, METRIC_TABLES)
        emit(
            "bytes_per_point_runyard",
            size / total,
            "bytes/point",
            "<= 24",
            tables=list(METRIC_TABLES),
            total_bytes=size,
        )
        _read_figures(args, session_factory, run_id, total)


def _cpu_plan(args: argparse.Namespace) -> None:
    """Where the time goes, per point, for each event format: this process reads a few batches
    as the ingester does (pydantic's validate_json of each entry, then the batch's per-series
    columns) and writes them with the ingester's writer into a fresh database, timing its own
    CPU for each stage and PostgreSQL's backend (from /proc) for the writes. Redis reads and the
    acknowledgements are not in it (they are in the end-to-end figures)."""
    batches = 5
    per_event = args.points_per_event
    for fmt in ("columns", "points"):
        with scratch_database("runyard_plan") as (name, engine):
            server.models.metadata.create_all(engine)
            session_factory = make_session_factory(engine)
            run_id, fence = _make_run(session_factory)
            payloads = [
                [
                    EventAdapter.dump_json(
                        _event(run_id, fence, b * args.batch_size + i, per_event, fmt)
                    )
                    for i in range(args.batch_size)
                ]
                for b in range(batches)
            ]
            n = batches * args.batch_size * per_event
            spent = {"validate_json": 0.0, "columns": 0.0, "write": 0.0, "postgres": 0.0}
            with session_factory() as session:
                session.connection()
                backends = _backends(engine, name)
                session.rollback()
                for payload in payloads:
                    t0 = time.process_time()
                    # Kept alive as a batch is in the ingester (so the garbage collector's
                    # passes over them are counted, as they are there).
                    parsed = [ReceivedEventAdapter.validate_json(p) for p in payload]
                    t1 = time.process_time()
                    rows = metric_rows(parsed)
                    t2 = time.process_time()
                    pg_before = _cpu_seconds(backends)
                    write_batch(session, parsed, rows)
                    t3 = time.process_time()
                    spent["postgres"] += _cpu_seconds(backends) - pg_before
                    spent["validate_json"] += t1 - t0
                    spent["columns"] += t2 - t1
                    spent["write"] += t3 - t2
        per_point = {f"{k}_us_per_point": round(v / n * 1e6, 3) for k, v in spent.items()}
        ingester = spent["validate_json"] + spent["columns"] + spent["write"]
        emit(
            "ingester_cpu_plan",
            ingester / n * 1e6,
            "us/point",
            "",
            format=fmt,
            points=n,
            **per_point,
            note="value: the ingester's CPU per point (validate_json + columns + write, the "
            "last being the block writer's Python: merging, encoding and deflating blocks, "
            "rollups, building statements); postgres: its backend's CPU for the same writes",
        )


def _read_figures(args: argparse.Namespace, session_factory, run_id: str, total: int) -> None:  # type: ignore[no-untyped-def]
    timings = []
    with session_factory() as session:
        for _ in range(args.queries):
            t0 = time.perf_counter()
            series = get_series(session, run_id, "loss", 2000, None, None)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    emit(
        "downsampled_query_ms_runyard",
        statistics.median(timings),
        "ms (p50)",
        "< 200",
        p95=round(timings[int(0.95 * (len(timings) - 1))], 2),
        series_points=total,
        returned_points=len(series.points),
        queries=args.queries,
    )
    for fmt in ("csv", "json"):
        with session_factory() as session:
            t0 = time.perf_counter()
            _, body = export_series(session, session_factory, run_id, "loss", fmt)
            size = sum(len(chunk) for chunk in body)
            seconds = time.perf_counter() - t0
        emit(
            f"full_export_points_per_s_runyard_{fmt}",
            total / seconds,
            "points/s",
            "",
            megabytes_per_s=round(size / seconds / 1e6, 1),
            seconds=round(seconds, 2),
        )


# --- MLflow, side by side ----------------------------------------------------------------

_MLFLOW_CLIENT = r"""
import sys, time, json
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
url, events, per_event, clients, index = sys.argv[1], *map(int, sys.argv[2:6])
client = MlflowClient(url)
run_id = sys.argv[6]
def value(step):
    return 2.0 / (1.0 + step * 1e-5) + ((step * 2654435761) % 1000003) / 1000003.0 * 0.1
for seq in range(index, events, clients):
    base = seq * per_event
    batch = [Metric("loss", value(base + i), int((1.7e9 + (base + i) * 0.0123) * 1000), base + i)
             for i in range(per_event)]
    for start in range(0, len(batch), 1000):  # MLflow's limit per log_batch call
        client.log_batch(run_id, metrics=batch[start:start + 1000])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bench_mlflow(args: argparse.Namespace, python: str, workers: int) -> None:
    with scratch_database("runyard_bench") as (name, engine):
        port = _free_port()
        home = Path(tempfile.mkdtemp(prefix="mlflow-bench-"))
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                python,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
                "--default-artifact-root",
                str(home / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=(home / "server.log").open("wb"),
            start_new_session=True,
        )
        try:
            _wait_for_http(url, server)
            run_id = subprocess.check_output(
                [
                    python,
                    "-c",
                    "import sys; from mlflow.tracking import MlflowClient as C; c = C(sys.argv[1]);"
                    "print(c.create_run(c.create_experiment('bench')).info.run_id)",
                    url,
                ],
                text=True,
            ).strip()
            total = args.mlflow_events * args.points_per_event
            server_pids = _process_tree(server.pid)
            backends = _backends(engine, name)
            before = _cpu_seconds(server_pids), _cpu_seconds(backends)
            clients = max(2, workers)
            started = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [
                        python,
                        "-c",
                        _MLFLOW_CLIENT,
                        url,
                        str(args.mlflow_events),
                        str(args.points_per_event),
                        str(clients),
                        str(i),
                        run_id,
                    ]
                )
                for i in range(clients)
            ]
            for proc in procs:
                proc.wait()
            elapsed = time.perf_counter() - started
            server_cpu = _cpu_seconds(server_pids) - before[0]
            pg_cpu = _cpu_seconds(_backends(engine, name)) - before[1]
            emit(
                f"ingest_points_per_s_mlflow_{workers}_workers",
                total / elapsed,
                "points/s",
                "",
                points=total,
                log_batch_clients=clients,
                seconds=round(elapsed, 2),
            )
            emit(
                f"ingest_points_per_cpu_second_mlflow_{workers}_workers",
                total / (server_cpu + pg_cpu),
                "points/cpu-s",
                "",
                server_us_per_point=round(server_cpu / total * 1e6, 3),
                postgres_us_per_point=round(pg_cpu / total * 1e6, 3),
            )
            size = _bytes(engine, ("metrics", "latest_metrics"))
            emit("bytes_per_point_mlflow", size / total, "bytes/point", "", total_bytes=size)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(30)
            shutil.rmtree(home, ignore_errors=True)


def _process_tree(pid: int) -> list[int]:
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return found


def _wait_for_http(url: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the MLflow server exited; see its server.log")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling interval while the server starts
    raise RuntimeError("the MLflow server did not answer in 120 s")


def _mlflow_python(given: str | None) -> str | None:
    if given:
        return given
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--points-per-event", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=IngestOptions.batch_size)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--mlflow-python", help="a Python with mlflow installed")
    parser.add_argument(
        "--mlflow-events", type=int, default=100, help="events sent to MLflow (it is slower)"
    )
    parser.add_argument("--only", choices=["runyard", "mlflow"], help="one side only")
    parser.add_argument(
        "--format",
        choices=["columns", "points"],
        default="columns",
        help="the metric events published: columns (what workers send) or the older format",
    )
    args = parser.parse_args()
    if args.only != "mlflow":
        _cpu_plan(args)
        _bench_runyard(args, ingesters=2, final=False)
        _bench_runyard(args, ingesters=1, final=True)
    if args.only == "runyard":
        return
    python = _mlflow_python(args.mlflow_python)
    if python is None:
        emit("mlflow", 0, "", "", skipped="mlflow is not installed; pass --mlflow-python")
        return
    for workers in (1, 4):
        _bench_mlflow(args, python, workers)


if __name__ == "__main__":
    main()
