"""GET /runs/{id}/metric-series for a run with 5,000 metric keys, printed as JSON lines.

    python bench/metric_series_read.py              # 5,000 keys x 100 steps
    python bench/metric_series_read.py --steps 20   # a quicker run

Issue 10 reported this request at 10-11 s alone and 58 s each with 8 at once. A fresh
PostgreSQL database (created and dropped here) gets a run whose points go through the ingester's
real write path (`write_batch`, as the ingester commits a batch), then the real app
(`create_app`, served by uvicorn in a process of its own, as in production) answers the request
over HTTP (httpx), once at a time and 8 at once. Printed: the p50 wall time of one request, of
each of 8 concurrent ones, the answer's size, and the server's CPU per request.
"""

import argparse
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

# Runnable as `python bench/metric_series_read.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, text

import server.models
from bench.scaffold import PG, WORKER, emit, running_run
from runyard.schemas.events import MetricPoint, MetricsEvent
from server.db import make_engine, make_session_factory
from server.ingest.writer import write_batch
from server.settings import Settings
from server.users.tokens import issue_token

REDIS_URL = "redis://127.0.0.1:6379/0"


def _seed(url: str, keys: int, steps: int) -> tuple[str, str]:
    """A run with `keys` keys of `steps` points each, written by the ingester's batch writer.
    Returns the run id and an admin's token."""
    engine = make_engine(url)
    server.models.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        user_id, run_id, fence = running_run(session)
        _, token = issue_token(session, kind="user", name="bench", user_id=user_id)
        session.commit()
    names = [f"layer{i:04d}/grad_norm" for i in range(keys)]
    per_event = max(1, 50_000 // steps)  # keys per event: ~50,000 points, as a worker sends
    events = [
        MetricsEvent(
            run_id=run_id,
            attempt=1,
            fence=fence,
            worker=WORKER,
            seq=seq,
            ts=datetime.now(UTC),
            points=[
                MetricPoint(key=k, step=s, value=i + s * 1e-3, wall_time=1.7e9 + s)
                for i, k in enumerate(names[begin : begin + per_event], start=begin)
                for s in range(steps)
            ],
        )
        for seq, begin in enumerate(range(0, keys, per_event))
    ]
    for begin in range(0, len(events), 10):
        with make_session_factory(engine)() as session:
            write_batch(session, events[begin : begin + 10])
    engine.dispose()
    return run_id, token


def _serve(url: str, port: int, data_dir: str) -> None:
    import uvicorn

    from server.app import create_app

    settings = Settings(
        database_url=url,
        data_dir=Path(data_dir),
        artifact_dir=Path(data_dir) / "artifacts",
        redis_url=REDIS_URL,
        redis_prefix=f"runyard_bench_{secrets.token_hex(4)}",
        web_dist=Path(data_dir) / "no-web",
        port=port,
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=8)
    args = parser.parse_args()
    name = f"runyard_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG.format("test"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    spawn = multiprocessing.get_context("spawn")
    server_process = None
    try:
        t0 = time.perf_counter()
        run_id, token = _seed(PG.format(name), args.keys, args.steps)
        seed_seconds = time.perf_counter() - t0
        port = _free_port()
        data_dir = tempfile.mkdtemp(prefix="runyard-bench-")
        server_process = spawn.Process(target=_serve, args=(PG.format(name), port, data_dir))
        server_process.start()
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in 120 s")
            time.sleep(0.2)  # polling interval while the server starts
        path = f"{base}/api/v1/runs/{run_id}/metric-series"

        def one(client: httpx.Client) -> tuple[float, int]:
            started = time.perf_counter()
            response = client.get(path, headers=headers, timeout=600)
            response.raise_for_status()
            return time.perf_counter() - started, len(response.content)

        with httpx.Client() as client:
            _, size = one(client)  # warm: connection pool, plans, caches
            assert server_process.pid is not None
            cpu0 = _cpu_seconds(server_process.pid)
            alone = [one(client)[0] for _ in range(args.repeats)]
            cpu_alone = (_cpu_seconds(server_process.pid) - cpu0) / args.repeats
        emit(
            "metric_series_read_s_alone",
            statistics.median(alone),
            "s (p50)",
            "issue 10 before: 10-11 s",
            keys=args.keys,
            points_per_key=args.steps,
            response_bytes=size,
            server_cpu_s_per_request=round(cpu_alone, 3),
            repeats=args.repeats,
            seed_seconds=round(seed_seconds, 1),
        )
        clients = [httpx.Client() for _ in range(args.concurrent)]
        try:
            with ThreadPoolExecutor(args.concurrent) as pool:
                started = time.perf_counter()
                together = [t for t, _ in pool.map(one, clients)]
                wall = time.perf_counter() - started
        finally:
            for client in clients:
                client.close()
        emit(
            f"metric_series_read_s_{args.concurrent}_at_once",
            statistics.median(together),
            "s (p50 of each)",
            "issue 10 before: 58 s each",
            slowest=round(max(together), 2),
            all_done_s=round(wall, 2),
            keys=args.keys,
            points_per_key=args.steps,
        )
    finally:
        if server_process is not None:
            server_process.terminate()
            server_process.join(30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
