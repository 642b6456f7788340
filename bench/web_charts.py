"""Time until a run page with 10 metrics of 1,000,000 points each has drawn every chart, in
headless Chromium, printed as JSON lines (never asserted; the target is under 1 s).

    python bench/web_charts.py              # 10 metrics x 1,000,000 points, 5 page loads
    python bench/web_charts.py --points 100000 --loads 3

Seeds a fresh PostgreSQL database through the ingester's block writer (server/ingest/metric_store.py:
the same blocks, rollups and summaries a worker's events would leave, without Redis), serves the
real app with `python -m server` and the built dashboard (web/dist), opens the run page and reads the page's own
`runyard:charts-drawn` performance mark, which it sets once every chart has drawn its data.
A screenshot goes to test-output/screenshots/bench-web-charts.png. Cleans up after itself.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

# Runnable as `python bench/web_charts.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.scaffold import PG, emit, scratch_database
from bench.served_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO_ROOT,
    require_dashboard_build,
    served_app,
)
from runyard.schemas.spec import ExperimentSpec
from server.db import make_engine
from server.experiments.models import Experiment
from server.ingest.metric_rows import MetricRows, SeriesPoints
from server.ingest.metric_store import write_metrics
from server.metrics.columns import PointColumns
from server.projects.models import Project, ProjectMember
from server.runs.models import Run
from server.schema_migrations import upgrade_to_head
from server.users.models import User
from server.users.tokens import issue_token

KEYS = [
    *(f"train/{k}" for k in ("loss", "acc", "lr", "grad_norm", "throughput")),
    *(f"val/{k}" for k in ("loss", "acc", "f1", "precision", "recall")),
]
SCREENSHOT = REPO_ROOT / "test-output" / "screenshots" / "bench-web-charts.png"
WALL_START = 1_700_000_000.0
TARGET = "< 1000 ms"
MAX_POINTS = 800  # what the run page asks for (web/src/features/run/hooks/useMetricSeries.ts)
WRITE_BATCH = 100_000


def numpy_value(steps: np.ndarray, i: int) -> np.ndarray:
    """A decaying trend plus deterministic wiggle, different per series."""
    return np.exp(-steps / 250000.0) * (1 + i) + 0.05 * np.sin(steps * 0.7 + i) * np.sin(
        steps * 0.0013
    )


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
        session.commit()
        run_id = run.id

    # Through the ingester's own writer (blocks, both rollup tiers and the summaries, as a
    # worker's events would leave them), one 100,000-point batch per series at a time.
    with engine.begin() as conn:
        for i, key in enumerate(KEYS):
            for lo in range(0, points, WRITE_BATCH):
                steps = np.arange(lo, min(points, lo + WRITE_BATCH), dtype=np.int64)
                batch = PointColumns(
                    step=steps,
                    value=numpy_value(steps.astype(np.float64), i),
                    epoch=steps // 10_000,
                    wall_time=(WALL_START + steps * 0.01).astype(np.float64),
                    attempt=np.ones_like(steps),
                    seq=steps,
                )
                write_metrics(conn, MetricRows([SeriesPoints(run_id, key, batch)]), len(KEYS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return run_id, token


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
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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
                "web_charts",
                float(drawn),
                "ms",
                TARGET,
                metric="page_load_to_all_charts_drawn",
                load=load + 1,
                cache="cold" if load == 0 else "warm",
                charts=int(charts),
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points per metric")
    parser.add_argument("--loads", type=int, default=5, help="page loads to time")
    args = parser.parse_args()
    require_dashboard_build()
    with scratch_database("runyard_bench_web") as (name, _engine):
        url = PG.format(name)
        upgrade_to_head(url)
        began = time.perf_counter()
        run_id, token = seed(url, args.points)
        emit(
            "web_charts",
            time.perf_counter() - began,
            "s",
            "-",
            metric="seed_seconds",
            metrics=len(KEYS),
            points_per_metric=args.points,
        )
        with served_app(url) as base:
            single = time_single_requests(base, run_id, token)
            emit(
                "web_charts",
                statistics.median(single),
                "ms",
                "-",
                metric="one_series_request_alone_median",
                max_points=MAX_POINTS,
                note="server time for one chart's data with nothing else in flight",
            )
            batch = time_batch_requests(base, run_id, token)
            emit(
                "web_charts",
                statistics.median(batch),
                "ms",
                "-",
                metric="all_series_in_one_request_alone_median",
                max_points=MAX_POINTS,
                metrics=len(KEYS),
                note="server time for every chart's data in the page's one request",
            )
            timings = measure(base, run_id, token, args.loads)
            emit(
                "web_charts",
                statistics.median(timings),
                "ms",
                TARGET,
                metric="page_load_to_all_charts_drawn_median",
                loads=len(timings),
                metrics=len(KEYS),
                points_per_metric=args.points,
                screenshot=str(SCREENSHOT.relative_to(REPO_ROOT)),
            )


if __name__ == "__main__":
    main()
