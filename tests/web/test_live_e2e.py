"""The run page's live path and its file browser, end to end: real headless Chromium against
the whole stack (server, ingester, scheduler, Celery worker) on PostgreSQL and Redis.

A slow run trains for real while the page is open: its chart and log tail grow from the SSE
stream alone (the series and log snapshots are requested once). Once it has finished, its
artifact folder is browsed: directories, sizes, a download, and previews of JSON and an image.
Screenshots go to test-output/screenshots/ (live-*, artifacts-*)."""

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from runyard.client import Client
from tests.e2e.stack import client_for, running_stack
from tests.web.browser import chromium, screenshot, sign_in
from tests.web.test_dashboard_e2e import dashboard_built  # noqa: F401 (fixture)
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

PROJECT = "live"
LONG = 120_000
# A 1x1 PNG, for the image preview.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _slow_spec(epochs: int) -> dict[str, Any]:
    return {
        "name": "slow-live",
        "project": PROJECT,
        "model": {"entrypoint": "tests.worker.tiny_models:SlowClassifier"},
        "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
        "trainer": {
            "max_epochs": epochs,
            "seed": 1,
            "num_sanity_val_steps": 0,
            "log_every_n_steps": 1,
        },
        "checkpoint": {"monitor": "val_loss", "save_top_k": 1},
    }


@pytest.fixture(scope="module")
def stack(dashboard_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:  # noqa: F811
    with running_stack(tmp_path_factory.mktemp("live-e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def sdk(stack: object) -> Iterator[Client]:
    client = client_for(stack)  # type: ignore[arg-type]
    client.ensure_project(PROJECT)
    yield client
    client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(browser: Browser, stack: object, dark: bool = False) -> Page:
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, color_scheme="dark" if dark else "light"
    )
    tab = context.new_page()
    sign_in(tab, stack.options.url, stack.admin_token)  # type: ignore[attr-defined]
    return tab


def _open_run(page: Page, run_id: str) -> None:
    page.goto(page.url.split("#")[0] + f"#/runs/{run_id}")


def _count(requests: list[str], suffix: str) -> int:
    return sum(1 for url in requests if url.split("?")[0].endswith(suffix))


def _drawn_points(page: Page, key: str) -> int:
    raw = page.locator(f'[data-metric="{key}"]').first.get_attribute("data-points")
    return int(raw or 0)


def test_a_running_runs_chart_and_logs_grow_from_the_stream_alone(
    browser: Browser, stack: object, sdk: Client
) -> None:
    run_id = sdk.submit(_slow_spec(epochs=40))["run_ids"][0]
    wait_for(lambda: sdk.run(run_id)["state"] == "running", timeout=120, what="the run to start")
    page = _page(browser, stack)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(_path(request)))
    _open_run(page, run_id)
    expect(page.get_by_test_id("live-status")).to_have_text("live", timeout=LONG)
    chart = page.locator('[data-metric="train_loss"]')
    expect(chart).to_be_visible(timeout=LONG)
    first_points = _drawn_points(page, "train_loss")
    log = page.get_by_test_id("log-tail")
    first_lines = (log.text_content() or "").count("slow step")

    # More points and lines arrive while the run trains.
    expect(chart).not_to_have_attribute("data-points", str(first_points), timeout=LONG)
    wait_for(
        lambda: _drawn_points(page, "train_loss") >= first_points + 3,
        timeout=120,
        what="three more streamed points on the chart",
    )
    wait_for(
        lambda: (log.text_content() or "").count("slow step") > first_lines,
        timeout=120,
        what="new log lines in the tail",
    )
    drawn_step = page.locator('[data-metric="train_loss"] [data-drawn-step]').get_attribute(
        "data-drawn-step"
    )
    assert drawn_step and int(drawn_step) >= 0
    screenshot(page, "live-01-running-run-updates")

    # The snapshots were fetched once: everything after came through the stream.
    assert _count(requests, f"/runs/{run_id}/metric-series") == 1
    assert _count(requests, f"/runs/{run_id}/logs") == 1
    assert _count(requests, f"/runs/{run_id}/events") >= 1
    sdk.cancel(run_id)
    page.context.close()


def _path(request: Request) -> str:
    return re.sub(r"^https?://[^/]+", "", request.url)


@pytest.fixture(scope="module")
def finished_run(stack: object, sdk: Client) -> str:
    """A finished run whose folder holds its checkpoint and exports, plus a report and a plot
    a training script would leave beside them."""
    run_id = sdk.submit(_slow_spec(epochs=1))["run_ids"][0]
    sdk.wait(run_id, timeout=300)
    folder = Path(stack.options.data_dir) / "artifacts" / "runs" / run_id  # type: ignore[attr-defined]
    (folder / "reports").mkdir(parents=True, exist_ok=True)
    (folder / "reports" / "metrics.json").write_text(json.dumps({"val_acc": 0.93, "epochs": 1}))
    (folder / "reports" / "config.yaml").write_text("lr: 0.1\nbatch_size: 16\n")
    (folder / "reports" / "curve.png").write_bytes(PIXEL)
    return run_id


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_file_browser_lists_downloads_and_previews_a_runs_artifacts(
    browser: Browser, stack: object, finished_run: str, dark: bool
) -> None:
    page = _page(browser, stack, dark=dark)
    _open_run(page, finished_run)
    files = page.get_by_test_id("artifact-browser")
    expect(files.locator('[data-artifact="reports/metrics.json"]')).to_be_visible(timeout=LONG)
    expect(files.locator('[data-artifact="checkpoints"]')).to_contain_text("checkpoints/")
    checkpoint = files.locator('[data-artifact^="checkpoints/"]').first
    expect(checkpoint).to_contain_text(re.compile(r"\d+(\.\d+)? ?[KMG]?i?B"))

    # Folding a directory hides its files.
    files.locator('[data-artifact="checkpoints"] button').click()
    expect(files.locator('[data-artifact^="checkpoints/"]')).to_have_count(0)
    files.locator('[data-artifact="checkpoints"] button').click()
    expect(files.locator('[data-artifact^="checkpoints/"]').first).to_be_visible()

    # JSON previews indented; an image previews as an image.
    files.get_by_role("button", name="metrics.json", exact=True).click()
    preview = page.get_by_test_id("artifact-preview")
    expect(preview.locator("pre")).to_contain_text('"val_acc": 0.93', timeout=LONG)
    screenshot(page, f"artifacts-0{2 if dark else 1}-json-{'dark' if dark else 'light'}")
    files.get_by_role("button", name="curve.png", exact=True).click()
    expect(preview.locator("img")).to_have_attribute("alt", "curve.png", timeout=LONG)
    wait_for(
        lambda: page.evaluate(
            "document.querySelector('[data-testid=artifact-preview] img')?.naturalWidth === 1"
        ),
        timeout=30,
        what="the image preview to load",
    )

    # A download goes through the authenticated API and saves the file's bytes.
    with page.expect_download() as download:
        files.get_by_role("button", name="Download reports/config.yaml").click()
    saved = download.value.path()
    assert Path(saved).read_text() == "lr: 0.1\nbatch_size: 16\n"
    page.context.close()
