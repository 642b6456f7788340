"""Tracking in the dashboard end to end: real headless Chromium against the whole stack
(server, ingester, scheduler, Celery worker) on PostgreSQL and Redis. A grid search of three
trials and a crashing run train for real; then the runs list (metric and param columns, sort
from a header, the filter language and its inline 422, grouping by experiment), the run page
(wide synced charts whose legend names the step, smoothing, log scale, the run's system
metrics, the summary, tags and Markdown notes, the traceback once), dark mode and a 390 px wide phone. Screenshots go to
test-output/screenshots/ (tracking-*)."""

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from runyard.client import Client
from tests.e2e.stack import client_for, running_stack
from tests.runyard.mlflow_client import needs_mlflow, run_mlflow_script
from tests.web.browser import chromium, screenshot, sign_in
from tests.web.test_dashboard_e2e import dashboard_built  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

PROJECT = "tracking"
LONG = 120_000
DRAWN = re.compile(r"^[1-9][0-9]*$")


def _spec(name: str, model: str = "TinyClassifier", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "project": PROJECT,
        "model": {"entrypoint": f"tests.worker.tiny_models:{model}", "init_args": {"lr": 0.1}},
        "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
        "trainer": {"max_epochs": 3, "seed": 1, "num_sanity_val_steps": 0, "log_every_n_steps": 1},
        "checkpoint": {"monitor": "val_loss", "save_top_k": 1},
        **extra,
    }


@pytest.fixture(scope="module")
def stack(dashboard_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:  # noqa: F811
    # Sampled twice a second (5 s by default), so even these short runs get system series.
    sampling = {"RUNYARD_WORKER_SYSTEM_METRICS_SECONDS": "0.5"}
    with running_stack(
        tmp_path_factory.mktemp("tracking-e2e"), gpus=2, extra_env=sampling
    ) as running:
        yield running


@pytest.fixture(scope="module")
def runs(stack: object) -> Iterator[dict[str, Any]]:
    """Three finished trials of a search over lr, and a failed run."""
    sdk: Client = client_for(stack)  # type: ignore[arg-type]
    sdk.ensure_project(PROJECT)
    search = _spec(
        "lr-search",
        search={"parameters": {"model.init_args.lr": {"values": [0.3, 0.03, 0.003]}}},
    )
    trials = sdk.submit(search)["run_ids"]
    crashed = sdk.submit(_spec("crashes", "CrashingClassifier"))["run_ids"][0]
    for run_id in [*trials, crashed]:
        sdk.wait(run_id, timeout=300)
    yield {"trials": trials, "crashed": crashed, "client": sdk}
    sdk.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(browser: Browser, stack: object, width: int = 1400, dark: bool = False) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": 1000},
        color_scheme="dark" if dark else "light",
    )
    tab = context.new_page()
    sign_in(tab, stack.options.url, stack.admin_token)  # type: ignore[attr-defined]
    return tab


def _no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_runs_list_columns_sort_filter_and_groups(browser: Browser, stack: object, runs) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, stack)
    trials = runs["trials"]
    for column in ("val_loss", "params.model.lr"):
        page.get_by_label("Add column").fill(column)
        page.get_by_role("button", name="Add column").click()
    cells = page.locator('[data-run-id] [data-column="params.model.lr"]')
    expect(cells.first).to_be_visible(timeout=LONG)

    # Sorting by lr from its header: descending first, then ascending.
    lr_header = page.locator(".runs-head").get_by_role("button", name="model.lr")
    lr_header.click()
    expect(page.get_by_role("columnheader", name="model.lr")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(cells.nth(0)).to_have_text("0.3", timeout=LONG)
    lr_header.click()
    expect(cells.nth(0)).to_have_text("0.003", timeout=LONG)
    assert (
        page.locator('[data-run-id] [data-column="metrics.val_loss"]').first.text_content() != "—"
    )

    # A filter in the server's language keeps the matching trials only.
    page.get_by_label("Filter expression").fill("params.model.lr < 0.05 and metrics.val_loss > 0")
    page.get_by_label("Filter expression").press("Enter")
    expect(page.locator("[data-run-id]")).to_have_count(2, timeout=LONG)
    shown = set(page.eval_on_selector_all("[data-run-id]", "els => els.map(e => e.dataset.runId)"))
    assert shown == {trials[1], trials[2]}

    # Grouped by experiment, the search's trials sit under one header.
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("[data-run-id]")).to_have_count(4, timeout=LONG)
    expect(page.get_by_label("Filter expression")).to_have_value("")
    grouping = page.get_by_label("group by experiment")
    grouping.click()
    expect(grouping).to_be_checked()
    group = page.locator("[data-group]").filter(has_text="lr-search")
    expect(group).to_contain_text("3 runs", timeout=LONG)
    screenshot(page, "tracking-01-runs-columns-light")

    # A mistake is a 422 whose message, shown under the box, points at the character.
    page.get_by_label("Filter expression").fill("metrics.val_loss >> 1")
    page.get_by_label("Filter expression").press("Enter")
    error = page.get_by_test_id("filter-error")
    expect(error).to_contain_text("at character 19", timeout=LONG)
    screenshot(page, "tracking-02-runs-filter-error")
    page.context.close()


def test_run_page_charts_summary_notes_and_one_traceback(
    browser: Browser, stack: object, runs
) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, stack)
    run_id = runs["trials"][0]
    page.goto(page.url.split("#")[0] + f"#/runs/{run_id}")
    charts = page.get_by_test_id("metric-charts")
    expect(charts).to_have_attribute("data-charts-drawn", DRAWN, timeout=LONG)
    width = page.locator('[data-metric="train_loss"] canvas').first.bounding_box()
    assert width is not None and width["width"] >= 500  # larger than the old 460 px

    # The worker's samples of the run's processes are charted with its metrics (this machine
    # has no GPU, so there are no system/gpu* charts), and kept out of the metric summary.
    keys = runs["client"].metric_keys(run_id)
    assert {"system/cpu_percent", "system/memory_bytes"} <= set(keys)
    assert not any(k.startswith("system/gpu") for k in keys)
    for key in ("system/cpu_percent", "system/memory_bytes"):
        expect(page.locator(f'[data-metric="{key}"] canvas').first).to_be_visible()
    expect(page.locator('[data-metric-summary="system/cpu_percent"]')).to_have_count(0)

    # Hovering one chart moves the cursor of the other and names the x value "step".
    plot = page.locator('[data-metric="train_loss"] .u-over')
    box = plot.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    legend = page.locator('[data-metric="train_loss"] .u-legend')
    expect(legend).to_contain_text("step")
    assert "Value" not in (legend.text_content() or "")
    other_x = page.locator('[data-metric="val_loss"] .u-legend .u-series').first.locator(".u-value")
    expect(other_x).to_have_text(re.compile(r"^\d+$"))

    # Smoothing adds a smoothed line; log scale rebuilds the charts.
    page.get_by_label("smoothing").fill("0.8")
    expect(page.get_by_test_id("smoothing-value")).to_have_text("0.80")
    expect(page.locator('[data-metric="train_loss"] .u-legend')).to_contain_text("(smoothed)")
    page.get_by_label("log scale").check()
    expect(charts).to_have_attribute("data-charts-drawn", DRAWN, timeout=LONG)

    # The summary: best (min for a loss) and last of each metric, as the API has them.
    summary = runs["client"].metric_summary(run_id)
    val = next(m for m in summary["metrics"] if m["key"] == "val_loss")
    row = page.locator('[data-metric-summary="val_loss"]')
    expect(row.locator("[data-best]")).to_contain_text(f"step {val['min']['step']}")
    expect(row.locator("[data-last]")).to_contain_text(f"step {val['last']['step']}")

    # Tags and Markdown notes are saved and rendered safely.
    page.get_by_label("New tag").fill("best-lr")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator('[data-tag="best-lr"]')).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Edit notes").click()
    page.get_by_label("Notes (Markdown)").fill(
        '## Findings\n**lr 0.3** wins <img src=x onerror="window.hacked=1">'
    )
    page.get_by_role("button", name="Save notes").click()
    notes = page.get_by_test_id("notes-view")
    expect(notes.locator("h2")).to_have_text("Findings", timeout=LONG)
    expect(notes.locator("strong")).to_have_text("lr 0.3")
    assert page.evaluate("window.hacked === undefined")
    assert runs["client"].run(run_id)["tags"] == ["best-lr"]
    screenshot(page, "tracking-03-run-light")

    # A failed run shows its traceback once.
    page.goto(page.url.split("#")[0] + f"#/runs/{runs['crashed']}")
    expect(page.get_by_test_id("run-state")).to_have_text("failed", timeout=LONG)
    expect(page.get_by_test_id("failure")).to_be_visible(timeout=LONG)
    expect(page.locator("pre.traceback")).to_have_count(1)
    expect(page.locator("pre.traceback")).to_contain_text("loss exploded at batch 0")
    screenshot(page, "tracking-04-run-failed")
    page.context.close()


@needs_mlflow
def test_a_run_logged_by_the_real_mlflow_client_shows_in_the_dashboard(
    browser: Browser, stack: object
) -> None:
    result = run_mlflow_script(stack.options.url, "mlflow-e2e", stack.admin_token)  # type: ignore[attr-defined]
    page = _page(browser, stack)
    page.goto(page.url.split("#")[0] + f"#/runs/{result['run_id']}")
    expect(page.get_by_test_id("run-state")).to_have_text("completed", timeout=LONG)
    expect(page.get_by_test_id("metric-charts")).to_have_attribute(
        "data-charts-drawn", DRAWN, timeout=LONG
    )
    for key in ("loss", "acc", "f1"):
        expect(page.locator(f'[data-metric="{key}"] canvas').first).to_be_visible()
    params = page.get_by_test_id("flat-params")
    for key, value in {"lr": "0.1", "batch_size": "32", "optimizer": "sgd"}.items():
        expect(params.locator(f'[data-param="{key}"] td')).to_have_text(value)
    loss = page.locator('[data-metric-summary="loss"]')
    expect(loss.locator("[data-last]")).to_contain_text("step 19")
    screenshot(page, "tracking-09-mlflow-run")
    page.context.close()


def test_dark_mode_follows_the_system_and_the_toggle_and_is_kept(
    browser: Browser, stack: object, runs
) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, stack, dark=True)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(11, 17, 32)"
    screenshot(page, "tracking-05-runs-dark")
    page.goto(page.url.split("#")[0] + f"#/runs/{runs['trials'][0]}")
    expect(page.get_by_test_id("metric-charts")).to_have_attribute(
        "data-charts-drawn", DRAWN, timeout=LONG
    )
    screenshot(page, "tracking-06-run-dark")
    # The toggle overrides the system and survives a reload.
    page.get_by_label("Theme").select_option("light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.reload()
    page.get_by_label("Theme").wait_for()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.context.close()


def test_a_390px_phone_gets_no_overlap_and_charts_that_fit(
    browser: Browser, stack: object, runs
) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, stack, width=390)
    expect(page.locator("[data-run-id]").first).to_be_visible(timeout=LONG)
    # The table scrolls inside its box; the page itself never scrolls sideways.
    assert _no_horizontal_overflow(page)
    head = page.locator(".runs-head [role=columnheader]")
    boxes = [head.nth(i).bounding_box() for i in range(head.count())]
    visible = [b for b in boxes if b is not None and b["width"] > 0]
    for left, right in itertools.pairwise(visible):
        assert left["x"] + left["width"] <= right["x"] + 1, "header cells overlap"
    screenshot(page, "tracking-07-runs-390px")
    page.goto(page.url.split("#")[0] + f"#/runs/{runs['trials'][0]}")
    expect(page.get_by_test_id("metric-charts")).to_have_attribute(
        "data-charts-drawn", DRAWN, timeout=LONG
    )
    assert _no_horizontal_overflow(page)
    for canvas in page.locator("[data-metric] canvas").all():
        box = canvas.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    screenshot(page, "tracking-08-run-390px")
    page.context.close()
