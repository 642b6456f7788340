"""Time until a run page with 10 metrics of 1,000,000 points each has drawn every chart, in
headless Chromium, printed as JSON lines (never asserted; the target is under 1 s).

    python bench/web_charts.py              # 10 metrics x 1,000,000 points, 5 page loads
    python bench/web_charts.py --points 100000 --loads 3

Seeds a fresh PostgreSQL database directly (points generated inside PostgreSQL, the rollups the
ingester would keep computed alongside with numpy, the coarse tier from them), serves the real app with `python -m server`
and the built dashboard (web/dist), opens the run page and reads the page's own
`runyard:charts-drawn` performance mark, which it sets once every chart has drawn its data.
A screenshot goes to test-output/screenshots/bench-web-charts.png. Cleans up after itself.
"""

import argparse
import io
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runnable as `python bench/web_charts.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from runyard.schemas.spec import ExperimentSpec
from server.db import make_engine
from server.experiments.models import Experiment
from server.metrics.models import ROLLUP_WIDTH, MetricSeries
from server.metrics.rollups import backfill_coarse_rollups
from server.projects.models import Project, ProjectMember
from server.runs.models import Run
from server.schema_migrations import upgrade_to_head
from server.users.models import User
from server.users.tokens import issue_token

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KEYS = [
    *(f"train/{k}" for k in ("loss", "acc", "lr", "grad_norm", "throughput")),
    *(f"val/{k}" for k in ("loss", "acc", "f1", "precision", "recall")),
]
SCREENSHOT = REPO_ROOT / "test-output" / "screenshots" / "bench-web-charts.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WALL_START = 1_700_000_000.0
MAX_POINTS = 800  # what the run page asks for (web/src/features/run/hooks/useMetricSeries.ts)
# The same curve in SQL (the stored points) and numpy (their rollups): a decaying trend plus
# deterministic wiggle, different per series.
SQL_VALUE = "exp(-s / 250000.0) * (1 + :i) + 0.05 * sin(s * 0.7 + :i) * sin(s * 0.0013)"


def numpy_value(steps: np.ndarray, i: int) -> np.ndarray:
    return np.exp(-steps / 250000.0) * (1 + i) + 0.05 * np.sin(steps * 0.7 + i) * np.sin(
        steps * 0.0013
    )


def emit(metric: str, value: float, unit: str, **extra: object) -> None:
    print(
        json.dumps({"bench": "web_charts", "metric": metric, "value": value, "unit": unit} | extra)
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(url: str, points: int) -> tuple[str, str]:
    """A user, a project, a completed run with len(KEYS) series of `points` points; returns
    (run id, the user's API token)."""
    engine = make_engine(url)
    with Session(engine) as session:
        user = User(email="bench@example.test", name="bench", is_admin=False)
        session.add(user)
        session.flush()
        _, token = issue_token(session, kind="user", name="bench", user_id=user.id)
        project = Project(name="bench", created_by=user.id)
        session.add(project)
        session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role="admin"))
        spec = ExperimentSpec.model_validate(
            {"name": "bench-1M", "project": "bench", "model": {"entrypoint": "bench.m:Model"}}
        ).model_dump(mode="json")
        experiment = Experiment(
            project_id=project.id, owner_id=user.id, name="bench-1M", spec=spec, tags=[]
        )
        session.add(experiment)
        session.flush()
        run = Run(
            experiment_id=experiment.id,
            project_id=project.id,
            owner_id=user.id,
            state="completed",
            spec=spec,
            params={"lr": 0.001},
        )
        session.add(run)
        session.flush()
        series = [MetricSeries(run_id=run.id, key=key) for key in KEYS]
        session.add_all(series)
        session.commit()
        run_id, series_ids = run.id, [s.id for s in series]

    with engine.begin() as conn:
        # A throwaway database: skip the WAL and build the secondary index once at the end,
        # which makes the 10M-row load several times faster. Queries are unaffected.
        conn.execute(text("ALTER TABLE metric_points SET UNLOGGED"))
        conn.execute(text("DROP INDEX ix_metric_points_series_attempt_seq"))
        for i, sid in enumerate(series_ids):
            conn.execute(
                text(
                    "INSERT INTO metric_points "
                    "(series_id, step, epoch, value, wall_time, attempt, seq) "
                    f"SELECT :sid, s, s / 10000, {SQL_VALUE}, :t0 + s * 0.01, 1, s "
                    "FROM generate_series(0, :n - 1) AS s"
                ),
                {"sid": sid, "i": i, "t0": WALL_START, "n": points},
            )
        conn.execute(
            text(
                "CREATE INDEX ix_metric_points_series_attempt_seq "
                "ON metric_points (series_id, attempt, seq)"
            )
        )
    _copy_rollups(engine, series_ids, points)
    with engine.begin() as conn:
        backfill_coarse_rollups(conn)  # the coarse tier, from the fine rollups just copied
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return run_id, token


def _copy_rollups(engine, series_ids: list[int], points: int) -> None:  # type: ignore[no-untyped-def]
    """Each ROLLUP_WIDTH-step bucket's min and max point, as the ingester keeps them."""
    buffer = io.StringIO()
    steps = np.arange(points, dtype=np.int64)
    buckets = steps // ROLLUP_WIDTH
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    for i, sid in enumerate(series_ids):
        values = numpy_value(steps.astype(np.float64), i)
        # One row per bucket: pad the last bucket with NaN so every bucket is a full row.
        padded = np.full(len(starts) * ROLLUP_WIDTH, np.nan)
        padded[:points] = values
        grid = padded.reshape(len(starts), ROLLUP_WIDTH)
        lows = starts + np.nanargmin(grid, axis=1)
        highs = starts + np.nanargmax(grid, axis=1)
        last = np.r_[starts[1:] - 1, points - 1]
        for b, lo, hi, la in zip(buckets[starts], lows, highs, last, strict=True):
            buffer.write(
                f"{sid}\t{b}\t{la}\t{lo}\t{float(values[lo])!r}\t{lo // 10000}"
                f"\t{WALL_START + int(lo) * 0.01!r}\t{hi}\t{float(values[hi])!r}\t{hi // 10000}"
                f"\t{WALL_START + int(hi) * 0.01!r}\n"
            )
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            columns = (
                "series_id, bucket, last_step, min_step, min_value, min_epoch, min_wall_time, "
                "max_step, max_value, max_epoch, max_wall_time"
            )
            with cursor.copy(f"COPY metric_rollups ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def serve(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "RUNYARD_DATABASE_URL": url,
        "RUNYARD_PORT": str(port),
        "RUNYARD_DATA_DIR": str(data_dir),
        "RUNYARD_REDIS_PREFIX": f"rybench-{secrets.token_hex(4)}",
    }
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)  # polling the health check, with a deadline
    process.terminate()
    raise SystemExit(f"the server did not come up; see {data_dir / 'server.log'}")


def time_single_requests(base: str, run_id: str, token: str) -> list[float]:
    """One series request at a time, as the page asks for it: the server's share per chart."""
    timings = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for key in KEYS[:5]:
            began = time.perf_counter()
            response = client.get(
                f"/api/v1/runs/{run_id}/metrics/{key}", params={"max_points": MAX_POINTS}
            )
            response.raise_for_status()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def time_batch_requests(base: str, run_id: str, token: str) -> list[float]:
    """The one request the page opens with: every key's series at once."""
    timings = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(5):
            began = time.perf_counter()
            response = client.get(
                f"/api/v1/runs/{run_id}/metric-series", params={"max_points": MAX_POINTS}
            )
            response.raise_for_status()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def measure(base: str, run_id: str, token: str, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(f"sessionStorage.setItem('runyard.token', {json.dumps(token)})")
        page = context.new_page()
        for load in range(loads):
            page.goto(f"{base}/#/runs/{run_id}")
            page.wait_for_selector("[data-charts-drawn]", timeout=60_000)
            drawn = page.evaluate(
                "performance.getEntriesByName('runyard:charts-drawn')[0].startTime"
            )
            charts = page.eval_on_selector("[data-charts-drawn]", "e => e.dataset.chartsDrawn")
            timings.append(float(drawn))
            # Where the time went: the app's own start, and the API calls it waited on.
            phases = page.evaluate(
                """() => {
                  const nav = performance.getEntriesByType('navigation')[0];
                  const api = performance.getEntriesByType('resource')
                    .filter(e => e.name.includes('/api/v1/'));
                  const series = api.filter(e => /\\/metric(s\\/.|-series)/.test(e.name));
                  return {
                    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                    api_requests: api.length,
                    first_series_request_start_ms: Math.min(...series.map(e => e.startTime)),
                    slowest_series_ms: Math.max(...series.map(e => e.duration)),
                    last_series_response_end_ms: Math.max(...series.map(e => e.responseEnd)),
                  };
                }"""
            )
            emit(
                "page_load_to_all_charts_drawn",
                round(float(drawn), 1),
                "ms",
                load=load + 1,
                cache="cold" if load == 0 else "warm",
                charts=int(charts),
                target="< 1000 ms",
                **{k: round(v, 1) for k, v in phases.items()},
                # From the last series response to every chart drawn: the browser's own share.
                client_after_data_ms=round(float(drawn) - phases["last_series_response_end_ms"], 1),
            )
            if load == 0:
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.goto("about:blank")
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points per metric")
    parser.add_argument("--loads", type=int, default=5, help="page loads to time")
    args = parser.parse_args()
    if not (REPO_ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the dashboard first: cd web && npm ci && npm run build")

    name = f"runyard_bench_web_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    server = None
    try:
        upgrade_to_head(url)
        began = time.perf_counter()
        run_id, token = seed(url, args.points)
        emit(
            "seed_seconds",
            round(time.perf_counter() - began, 1),
            "s",
            metrics=len(KEYS),
            points_per_metric=args.points,
        )
        with tempfile.TemporaryDirectory() as data_dir:
            port = free_port()
            server = serve(url, port, Path(data_dir))
            single = time_single_requests(f"http://127.0.0.1:{port}", run_id, token)
            emit(
                "one_series_request_alone_median",
                round(statistics.median(single), 1),
                "ms",
                max_points=MAX_POINTS,
                note="server time for one chart's data with nothing else in flight",
            )
            batch = time_batch_requests(f"http://127.0.0.1:{port}", run_id, token)
            emit(
                "all_series_in_one_request_alone_median",
                round(statistics.median(batch), 1),
                "ms",
                max_points=MAX_POINTS,
                metrics=len(KEYS),
                note="server time for every chart's data in the page's one request",
            )
            timings = measure(f"http://127.0.0.1:{port}", run_id, token, args.loads)
            emit(
                "page_load_to_all_charts_drawn_median",
                round(statistics.median(timings), 1),
                "ms",
                loads=len(timings),
                metrics=len(KEYS),
                points_per_metric=args.points,
                target="< 1000 ms",
                screenshot=str(SCREENSHOT.relative_to(REPO_ROOT)),
            )
            server.terminate()
            server.wait(timeout=30)
            server = None
    finally:
        if server is not None:
            server.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
