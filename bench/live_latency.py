"""Event-to-pixel latency of the live path, printed as JSON lines (measured, never asserted).

    python bench/live_latency.py               # 50 events, one point each
    python bench/live_latency.py --events 100

A fake worker XADDs one metric event at a time into the Redis stream, as a real worker would;
the server (`python -m server`, its in-process ingester, the built dashboard in web/dist)
stores it, announces it, streams it over SSE to headless Chromium, whose run page writes the
point into its query cache and redraws the chart. The figure is the time from just before the
XADD to the `runyard:chart-redrawn` performance mark the page sets when the chart has drawn
the new step (both clocks are this machine's wall clock). Each event waits for the previous
one to be drawn, so the figures are latencies, not queueing. Cleans up after itself.
"""

import argparse
import json
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Runnable as `python bench/live_latency.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import Redis
from sqlalchemy.orm import Session

from bench.scaffold import PG, WORKER, emit, running_run, scratch_database
from bench.served_app import CHROMIUM, CHROMIUM_ARGS, require_dashboard_build, served_app
from runyard.schemas.events import MetricPoint, MetricsEvent
from runyard.schemas.streams import EVENT_FIELD, events_stream
from server.schema_migrations import upgrade_to_head
from server.users.tokens import issue_token

REPO_ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = "loss"
DRAWN = f'[data-metric="{KEY}"] [data-drawn-step]'


class FakeWorker:
    """Writes the run's metric events into the stream the ingester reads, one point each."""

    def __init__(self, prefix: str, run_id: str, fence: int) -> None:
        self.redis = Redis.from_url(REDIS_URL)
        self.stream = events_stream(prefix)
        self.run_id, self.fence = run_id, fence

    def send(self, step: int) -> float:
        """XADDs the point of `step`; returns the wall time (ms) just before the XADD."""
        event = MetricsEvent(
            run_id=self.run_id,
            attempt=1,
            fence=self.fence,
            worker=WORKER,
            seq=step,
            ts=datetime.now(UTC),
            points=[
                MetricPoint(
                    key=KEY, step=step, epoch=0, value=1.0 / (step + 1), wall_time=time.time()
                )
            ],
        )
        body = {EVENT_FIELD: event.model_dump_json()}
        sent = time.time() * 1000
        self.redis.xadd(self.stream, body)  # type: ignore[arg-type]
        return sent


def measure(base: str, run_id: str, token: str, worker: FakeWorker, events: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(f"sessionStorage.setItem('runyard.token', {json.dumps(token)})")
        page = context.new_page()
        page.goto(f"{base}/#/runs/{run_id}")
        page.wait_for_selector('[data-testid="live-status"]:text("live")', timeout=60_000)
        # The first point makes the chart; warm-up, not measured.
        worker.send(0)
        _wait_drawn(page, 0)
        for step in range(1, events + 1):
            sent = worker.send(step)
            drawn_at = _wait_drawn(page, step)
            latencies.append(drawn_at - sent)
        screenshot = REPO_ROOT / "test-output" / "screenshots" / "bench-live-latency.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return latencies


def _wait_drawn(page, step: int) -> float:  # type: ignore[no-untyped-def]
    """The wall time (ms) of the redraw that drew `step`, from the page's own marker."""
    handle = page.wait_for_function(
        f"""() => {{
          const m = document.querySelector('{DRAWN}');
          return m && Number(m.dataset.drawnStep) >= {step} ? Number(m.dataset.drawnAt) : null;
        }}""",
        timeout=60_000,
        polling="raf",
    )
    return float(handle.json_value())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50, help="metric events to time")
    args = parser.parse_args()
    require_dashboard_build()
    prefix = f"rybench-live-{secrets.token_hex(4)}"
    with scratch_database("runyard_bench_live") as (name, engine):
        url = PG.format(name)
        upgrade_to_head(url)
        with Session(engine) as session:
            user_id, run_id, fence = running_run(session)
            _, token = issue_token(session, kind="user", name="bench", user_id=user_id)
            session.commit()
        worker = FakeWorker(prefix, run_id, fence)
        env = {"RUNYARD_REDIS_URL": REDIS_URL, "RUNYARD_REDIS_PREFIX": prefix}
        try:
            with served_app(url, env) as base:
                latencies = measure(base, run_id, token, worker, args.events)
        finally:
            worker.redis.delete(worker.stream)
            worker.redis.close()
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    common = {"events": len(latencies), "path": "XADD -> ingester -> SQL -> SSE -> cache -> chart"}
    emit(
        "live_event_to_pixel_p50", statistics.median(latencies), "ms", "as low as it goes", **common
    )
    emit("live_event_to_pixel_p95", p95, "ms", "as low as it goes", **common)
    emit("live_event_to_pixel_max", ordered[-1], "ms", "as low as it goes", **common)


if __name__ == "__main__":
    main()
