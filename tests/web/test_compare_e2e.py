"""Compare end to end: real headless Chromium against the whole stack on PostgreSQL and Redis.
Eight runs logged with `runyard.init` (params lr, optimizer, width; metrics val_acc and loss
over steps) go through the real ingester; the Compare page draws their parallel coordinates
(ECharts) and a scatter, a drag along the val_acc axis brushes it and the table keeps only
the runs inside, several metrics overlay on the time-series chart, and it all holds in dark
mode and on a 390 px phone. Screenshots go to test-output/screenshots/ (compare-*)."""

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

import runyard
from runyard.client import Client
from tests.e2e.stack import client_for, running_stack
from tests.web.browser import chromium, screenshot, sign_in
from tests.web.test_dashboard_e2e import dashboard_built  # noqa: F401 (fixture)
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

PROJECT = "compare"
LONG = 60_000
STEPS = 6
# The parallel chart's margins (ParallelCoordinates.tsx): the metric axis is the last one.
PARALLEL_TOP, PARALLEL_BOTTOM, PARALLEL_RIGHT = 40, 30, 90


def _final_acc(i: int) -> float:
    return 0.5 + 0.05 * i


@pytest.fixture(scope="module")
def stack(dashboard_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:  # noqa: F811
    with running_stack(tmp_path_factory.mktemp("compare-e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def runs(stack: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Eight finished external runs, their summaries ingested."""
    sdk: Client = client_for(stack)  # type: ignore[arg-type]
    sdk.ensure_project(PROJECT)
    spool = tmp_path_factory.mktemp("spool")
    ids = []
    for i in range(8):
        config = {
            "lr": 10 ** -(1 + i % 4),
            "optimizer": ["adam", "sgd"][i % 2],
            "width": 32 * (1 + i % 3),
        }
        run = runyard.init(
            project=PROJECT,
            name=f"sweep-{i}",
            config=config,
            url=stack.options.url,  # type: ignore[attr-defined]
            token=stack.admin_token,  # type: ignore[attr-defined]
            spool_dir=Path(spool),
        )
        for step in range(STEPS):
            progress = (step + 1) / STEPS
            run.log({"val_acc": _final_acc(i) * progress, "loss": 2.0 / (1 + i + step)}, step=step)
        assert run.finish()
        ids.append(run.id)
    headers = {"Authorization": f"Bearer {stack.admin_token}"}  # type: ignore[attr-defined]

    def ingested() -> bool:
        body = httpx.post(
            f"{stack.options.url}/api/v1/runs/compare",  # type: ignore[attr-defined]
            json={"run_ids": ids},
            headers=headers,
        ).json()
        return all(
            r["metrics"].get("val_acc", {}).get("last_step") == STEPS - 1 for r in body["runs"]
        )

    wait_for(ingested, timeout=60, what="the runs' metric summaries")
    yield ids
    sdk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _open(
    browser: Browser, stack: Any, ids: list[str], width: int = 1400, dark: bool = False
) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": 1100}, color_scheme="dark" if dark else "light"
    )
    page = context.new_page()
    sign_in(page, stack.options.url, stack.admin_token)
    page.goto(stack.options.url + "/#/compare?runs=" + ",".join(ids))
    expect(page.get_by_test_id("parallel-coordinates")).to_have_attribute(
        "data-drawn", str(len(ids)), timeout=LONG
    )
    return page


def _table_acc(page: Page) -> list[float]:
    cells = page.locator('[data-run-id] [data-column="metrics.val_acc"]')
    return [float(text) for text in cells.all_text_contents()]


def test_parallel_coordinates_brush_filters_the_table(
    browser: Browser, stack: object, runs
) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, stack, runs)
    parallel = page.get_by_test_id("parallel-coordinates")
    expect(parallel.locator("canvas")).to_have_count(1)
    page.get_by_label("metric", exact=True).select_option("metrics.val_acc")
    expect(parallel).to_have_attribute("data-drawn", "8", timeout=LONG)
    expect(page.locator("[data-run-id]")).to_have_count(8)
    # The scatter of the first varying param against the metric: a point per run.
    expect(page.get_by_test_id("scatter")).to_have_attribute("data-points", "8", timeout=LONG)
    expect(page.get_by_label("y", exact=True)).to_have_value("metrics.val_acc")
    # Several metrics at once on the time-series chart.
    page.get_by_text("Metrics (1)").click()
    page.get_by_label("overlay loss").check()
    overlay = page.get_by_test_id("metric-overlay")
    expect(overlay).to_have_attribute("data-drawn", "16", timeout=LONG)
    expect(overlay.locator(".u-legend")).to_contain_text("loss")
    expect(overlay.locator(".u-legend")).to_contain_text("val_acc")
    page.get_by_label("smoothing", exact=True).fill("0.6")
    expect(overlay.locator(".u-legend")).to_contain_text("(smoothed)")
    screenshot(page, "compare-01-light")

    # Drag along the val_acc axis (the last) over its upper half: the higher accuracies.
    box = parallel.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] - PARALLEL_RIGHT
    top = box["y"] + PARALLEL_TOP
    bottom = box["y"] + box["height"] - PARALLEL_BOTTOM
    page.mouse.move(x, top + 2)
    page.mouse.down()
    page.mouse.move(x, (top + bottom) / 2, steps=8)
    page.mouse.up()
    chip = page.locator('[data-brush="metrics.val_acc"]')
    expect(chip).to_be_visible(timeout=LONG)
    low, high = (
        float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", chip.inner_text())[-2:]
    )
    expected = sum(1 for i in range(8) if low <= _final_acc(i) <= high)
    assert 0 < expected < 8, (low, high)
    expect(page.locator("[data-run-id]")).to_have_count(expected, timeout=LONG)
    expect(page.get_by_test_id("table-count")).to_have_text(f"{expected} of 8 (brushed)")
    assert all(low <= v <= high for v in _table_acc(page))
    screenshot(page, "compare-02-brushed")

    # The same selection in the runs list, through the server's filter language.
    href = page.get_by_role("link", name="Open in runs list").get_attribute("href")
    assert (
        href is not None
        and "metrics.val_acc" in httpx.URL("http://x/" + href.lstrip("#/")).params["filter"]
    )
    page.get_by_role("button", name="Clear brushes").click()
    expect(page.locator("[data-run-id]")).to_have_count(8)
    page.context.close()


def test_compare_follows_dark_mode(browser: Browser, stack: object, runs) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, stack, runs, dark=True)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    # The axis names are drawn in the theme's foreground colour: light text on the dark panel.
    fg = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--fg').trim()")
    assert fg == "#e2e8f0"
    expect(page.get_by_test_id("scatter")).to_have_attribute("data-points", "8", timeout=LONG)
    screenshot(page, "compare-03-dark")
    page.context.close()


def test_compare_fits_a_390px_phone(browser: Browser, stack: object, runs) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, stack, runs, width=390)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    for test_id in ("parallel-coordinates", "scatter"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
        assert not math.isclose(box["width"], 0)
    screenshot(page, "compare-04-390px")
    page.context.close()
