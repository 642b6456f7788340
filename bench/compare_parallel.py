"""Parallel coordinates of 1,000 runs drawn in headless Chromium, printed as JSON lines (never
asserted; the target, under 500 ms, is for drawing: from the chart given its data to its lines
drawn; the whole page load, request and rendering included, is printed beside it).

    python bench/compare_parallel.py                 # 1,000 runs x 10 params, 5 page loads
    python bench/compare_parallel.py --runs 300 --loads 3

Seeds a scratch PostgreSQL database directly (runs, their flat params and metric summaries as
the ingester keeps them), serves the real app with `python -m server` and the built dashboard
(web/dist), opens Compare on the runs a filter matches and reads the page's own
`runyard:parallel-drawn` performance mark, which it sets when ECharts has finished drawing the
lines (`runyard:parallel-start` is set just before the chart is given its data). Also times
the POST /runs/compare request alone. A screenshot goes to test-output/screenshots/.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

# Runnable as `python bench/compare_parallel.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bench.scaffold import PG, emit, scratch_database
from bench.served_app import CHROMIUM, CHROMIUM_ARGS, require_dashboard_build, served_app
from runyard.schemas.spec import ExperimentSpec
from server.experiments.models import Experiment
from server.metrics.models import MetricSeries
from server.projects.models import Project, ProjectMember
from server.runs.models import Run, RunParam
from server.runs.params import comparable
from server.schema_migrations import upgrade_to_head
from server.users.models import User
from server.users.tokens import issue_token

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO_ROOT / "test-output" / "screenshots" / "bench-compare-parallel.png"
EXPERIMENT = "bench-compare"
METRICS = ("val_acc", "val_loss", "train_loss")
TARGET = "< 500 ms"


def _params(rng: random.Random) -> dict[str, object]:
    """Ten params of the kinds a sweep has: log-spread numbers, small integers, categories."""
    return {
        "model.lr": 10 ** rng.uniform(-5, -1),
        "model.weight_decay": 10 ** rng.uniform(-6, -2),
        "model.dropout": round(rng.uniform(0, 0.5), 3),
        "model.hidden": rng.choice([64, 128, 256, 512, 1024]),
        "model.layers": rng.randint(2, 12),
        "model.optimizer": rng.choice(["adam", "adamw", "sgd", "lion"]),
        "model.activation": rng.choice(["relu", "gelu", "silu"]),
        "datamodule.batch_size": rng.choice([16, 32, 64, 128, 256]),
        "trainer.max_epochs": rng.choice([10, 20, 50]),
        "trainer.seed": rng.randint(0, 9999),
    }


def seed(url: str, runs: int) -> str:
    """A user, a project, one experiment of `runs` completed runs with params and summaries;
    returns the user's API token."""
    from server.db import make_engine

    rng = random.Random(7)
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
            {"name": EXPERIMENT, "project": "bench", "model": {"entrypoint": "bench.m:Model"}}
        ).model_dump(mode="json")
        experiment = Experiment(
            project_id=project.id, owner_id=user.id, name=EXPERIMENT, spec=spec, tags=[]
        )
        session.add(experiment)
        session.flush()
        began = datetime.now(UTC) - timedelta(hours=1)
        run_rows, param_rows, metric_rows = [], [], []
        for i in range(runs):
            run_id = str(uuid4())
            params = _params(rng)
            run_rows.append(
                {
                    "id": run_id,
                    "experiment_id": experiment.id,
                    "project_id": project.id,
                    "owner_id": user.id,
                    "trial_index": i,
                    "state": "completed",
                    "spec": spec,
                    "params": params,
                    "created_at": began + timedelta(seconds=i),
                }
            )
            for key, value in params.items():
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
            quality = rng.random()
            for key in METRICS:
                last = quality if key == "val_acc" else 2.5 * (1 - quality) + rng.random() * 0.1
                metric_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "points": 100,
                        "first_step": 0,
                        "last_step": 99,
                        "last_value": last,
                        "min_step": 3,
                        "min_value": min(last, last * 0.8),
                        "max_step": 90,
                        "max_value": max(last, last * 1.1),
                    }
                )
        session.execute(insert(Run), run_rows)
        session.execute(insert(RunParam), param_rows)
        session.execute(insert(MetricSeries), metric_rows)
        session.commit()
    engine.dispose()
    return token


def time_compare_request(base: str, token: str) -> list[float]:
    timings = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(5):
            began = time.perf_counter()
            response = client.post(
                "/api/v1/runs/compare", json={"filter": f"experiment = '{EXPERIMENT}'"}
            )
            response.raise_for_status()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def measure(base: str, token: str, runs: int, loads: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {"page": [], "chart": []}
    filter_text = httpx.QueryParams({"filter": f"experiment = '{EXPERIMENT}'"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(f"sessionStorage.setItem('runyard.token', {json.dumps(token)})")
        page = context.new_page()
        for load in range(loads):
            page.goto(f"{base}/#/compare?{filter_text}")
            page.wait_for_selector(
                f"[data-testid=parallel-coordinates][data-drawn='{runs}']", timeout=60_000
            )
            marks = page.evaluate(
                """() => {
                  const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
                  const api = performance.getEntriesByType('resource')
                    .filter(e => e.name.includes('/api/v1/runs/compare'));
                  return {
                    drawn: at('runyard:parallel-drawn'),
                    start: at('runyard:parallel-start'),
                    compare_response_end_ms: api.length ? api[0].responseEnd : null,
                  };
                }"""
            )
            drawn, start = float(marks["drawn"]), float(marks["start"])
            response_end = float(marks["compare_response_end_ms"] or 0)
            timings["page"].append(drawn)
            timings["chart"].append(drawn - start)
            emit(
                "compare_parallel",
                drawn,
                "ms",
                "-",
                metric="page_load_to_parallel_drawn",
                load=load + 1,
                cache="cold" if load == 0 else "warm",
                runs=runs,
                params=10,
                compare_response_end_ms=round(response_end, 1),
                # From the table's response to the chart given its data: parsing, the
                # table's first rows and the other charts rendering.
                after_response_before_chart_ms=round(start - response_end, 1),
                # From the chart given its data to its lines drawn: ECharts' own share.
                chart_only_ms=round(drawn - start, 1),
            )
            if load == 0:
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.goto("about:blank")
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs to compare (at most 1,000)")
    parser.add_argument("--loads", type=int, default=5, help="page loads to time")
    args = parser.parse_args()
    require_dashboard_build()
    with scratch_database("runyard_bench_compare") as (name, _engine):
        url = PG.format(name)
        upgrade_to_head(url)
        began = time.perf_counter()
        token = seed(url, args.runs)
        emit(
            "compare_parallel", time.perf_counter() - began, "s", "-", metric="seed", runs=args.runs
        )
        with served_app(url) as base:
            request = time_compare_request(base, token)
            emit(
                "compare_parallel",
                statistics.median(request),
                "ms",
                "-",
                metric="compare_request_alone_median",
                runs=args.runs,
                note="server time for POST /runs/compare with a filter, nothing else in flight",
            )
            timings = measure(base, token, args.runs, args.loads)
            emit(
                "compare_parallel",
                statistics.median(timings["chart"]),
                "ms",
                TARGET,
                metric="parallel_drawn_median",
                loads=len(timings["chart"]),
                runs=args.runs,
                note="from the chart given 1,000 runs to their lines drawn",
            )
            emit(
                "compare_parallel",
                statistics.median(timings["page"]),
                "ms",
                "-",
                metric="page_load_to_parallel_drawn_median",
                loads=len(timings["page"]),
                runs=args.runs,
                screenshot=str(SCREENSHOT.relative_to(REPO_ROOT)),
            )


if __name__ == "__main__":
    main()
