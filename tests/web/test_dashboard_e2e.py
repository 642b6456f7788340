"""The dashboard end to end: real headless Chromium against the whole stack (server, ingester,
scheduler, Celery worker with two declared slots) on PostgreSQL and Redis. One flow, in the
order a user meets the pages; screenshots of each page go to test-output/screenshots/."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from runyard.client import Client
from tests.e2e.stack import client_for, running_stack
from tests.web.browser import CHROMIUM, chromium, screenshot, sign_in
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

WEB = Path(__file__).resolve().parents[2] / "web"
PROJECT = "webe2e"

WATCHED_SPEC = f"""name: watched
project: {PROJECT}
tags: [e2e]
model:
  entrypoint: tests.worker.tiny_models:SlowClassifier
datamodule:
  entrypoint: tests.worker.tiny_models:TinyData
trainer:
  max_epochs: 10
  seed: 1
  num_sanity_val_steps: 0
  log_every_n_steps: 1
checkpoint:
  monitor: val_loss
  save_top_k: 1
resources:
  gpus_per_node: 1
"""

# Explicit waits are on conditions with deadlines; Playwright's own expect() polls too.
LONG = 90_000


@pytest.fixture(scope="module")
def dashboard_built() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is missing: run scripts/bootstrap.sh")
    if not (WEB / "dist" / "index.html").exists():
        if shutil.which("npm") is None:
            pytest.skip("web/dist is not built and npm is missing")
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True)


@pytest.fixture(scope="module")
def stack(dashboard_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with running_stack(tmp_path_factory.mktemp("web-e2e"), gpus=2) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: object) -> Iterator[Client]:
    sdk = client_for(stack)  # type: ignore[arg-type]
    sdk.ensure_project(PROJECT)
    yield sdk
    sdk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, stack: object) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    sign_in(tab, stack.options.url, stack.admin_token)  # type: ignore[attr-defined]
    yield tab
    context.close()


def _count(page: Page, selector: str, attribute: str) -> int:
    values = page.eval_on_selector_all(
        selector, f"els => els.map(e => Number(e.getAttribute('{attribute}') || 0))"
    )
    return max(values, default=0)


def _log_lines(page: Page) -> int:
    text = page.get_by_test_id("log-count").text_content() or "0"
    return int(text.split()[0])


def test_sign_in_rejects_a_wrong_token_with_a_message(browser: Browser, stack: object) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(stack.options.url + "/")  # type: ignore[attr-defined]
    screenshot(tab, "01-sign-in")
    tab.get_by_label("API token").fill("ry_user_not-a-real-token")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("alert")).to_be_visible()
    context.close()


def test_submit_shows_validation_errors_at_the_field(page: Page, client: Client) -> None:
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_role("textbox", name="Spec").fill(
        WATCHED_SPEC.replace("gpus_per_node: 1", "gpus_per_node: -3")
    )
    page.get_by_role("button", name="Validate and submit").click()
    error = page.locator('.field-error[data-field="resources.gpus_per_node"]')
    expect(error).to_be_visible(timeout=LONG)
    screenshot(page, "02-submit-invalid")


def test_a_submitted_run_trains_live_and_its_checkpoint_downloads(
    page: Page, client: Client, tmp_path: Path
) -> None:
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_role("textbox", name="Spec").fill(WATCHED_SPEC)
    screenshot(page, "03-submit")
    page.get_by_role("button", name="Validate and submit").click()
    page.wait_for_url(re.compile(r".*#/runs/[0-9a-f-]{36}$"), timeout=LONG)
    run_id = page.url.rsplit("/", 1)[-1]

    # The run appears in the table (and its state updates there live).
    page.get_by_role("link", name="Runs", exact=True).click()
    row = page.locator(f'[data-run-id="{run_id}"]')
    expect(row).to_be_visible(timeout=LONG)
    expect(row).to_have_attribute("data-state", "running", timeout=LONG)
    screenshot(page, "04-runs")

    # On its page the charts gain points and the log tail gains lines while it trains.
    row.get_by_role("link").click()
    page.locator('[data-metric="train_loss"]').wait_for(timeout=LONG)
    first_points = _count(page, "[data-metric]", "data-points")
    first_lines = _log_lines(page)
    wait_for(
        lambda: _count(page, "[data-metric]", "data-points") > first_points,
        timeout=60,
        what="the charts to gain points",
    )
    wait_for(lambda: _log_lines(page) > first_lines, timeout=60, what="the log tail to grow")
    screenshot(page, "05-run-training")

    # When it has finished, dragging across a chart zooms it to a finer server-side window.
    expect(page.get_by_test_id("run-state")).to_have_text("completed", timeout=LONG)
    plot = page.locator('[data-metric="train_loss"] .u-over')
    box = plot.bounding_box()
    assert box is not None
    with page.expect_request(re.compile(r".*/metrics/train_loss\?.*start=\d+.*")):
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    expect(page.locator('[data-metric="train_loss"] .hint')).to_contain_text("steps")

    # Its checkpoint downloads through the bearer-authenticated fetch, once the page lists
    # what the server kept after its last retention pass.
    kept = client.checkpoints(run_id)
    [stored] = [c for c in kept if c["is_best"] or c["is_last"]][:1]
    rows = page.locator("tr[data-checkpoint-id]")
    expect(rows).to_have_count(len(kept), timeout=LONG)
    download_button = page.locator(f'tr[data-checkpoint-id="{stored["id"]}"]').get_by_role(
        "button", name="Download"
    )
    expect(download_button).to_be_visible(timeout=LONG)
    screenshot(page, "06-run-completed")
    with page.expect_download(timeout=LONG) as download:
        download_button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.stat().st_size > 0
    assert saved.stat().st_size == stored["size"]


def test_cancel_from_the_run_page_stops_a_running_run(page: Page, client: Client) -> None:
    spec = WATCHED_SPEC.replace("name: watched", "name: to-cancel").replace(
        "max_epochs: 10", "max_epochs: 500"
    )
    run_id = client.submit(yaml.safe_load(spec))["run_ids"][0]
    page.goto(page.url.split("#")[0] + f"#/runs/{run_id}")
    expect(page.get_by_test_id("run-state")).to_have_text("running", timeout=LONG)
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_test_id("run-state")).to_have_text("canceled", timeout=LONG)
    screenshot(page, "07-run-canceled")


def test_compare_and_cluster_pages_show_the_runs(page: Page, client: Client) -> None:
    quick = yaml.safe_load(WATCHED_SPEC.replace("SlowClassifier", "TinyClassifier"))
    quick["trainer"]["max_epochs"] = 1
    quick_id = client.submit(quick)["run_ids"][0]
    ids = ",".join([quick_id, *(r["id"] for r in client.runs()[:2] if r["id"] != quick_id)])
    page.goto(page.url.split("#")[0] + f"#/compare?runs={ids}")
    expect(page.get_by_role("table", name="Comparison")).to_be_visible(timeout=LONG)
    screenshot(page, "08-compare")

    page.get_by_role("link", name="Cluster").click()
    expect(page.get_by_test_id("worker-w1")).to_be_visible(timeout=LONG)
    screenshot(page, "09-cluster")
