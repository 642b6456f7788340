"""The README's main command, exactly as written, on a fresh clone: it sets everything up,
trains and follows the digits run, and ends with a dashboard URL that a browser opens and
shows that run in."""

import pytest
from playwright.sync_api import expect

from tests.e2e.stack import free_port
from tests.install.fresh import clean_env, fresh_clone, printed, run
from tests.readme import block_starting
from tests.web.browser import chromium, screenshot, sign_in

# A fresh clone installs torch, the dashboard's packages and a venv: minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(2400)]


def readme_main_command() -> str:
    """The command under the README's '# main job' comment, as written."""
    commands = block_starting("# main job").commands()
    return commands[0]


def test_the_quickstart_on_a_fresh_clone_ends_with_a_dashboard_that_shows_the_run(tmp_path):
    command = readme_main_command()
    assert command == "bash scripts/quickstart.sh"
    clone = fresh_clone(tmp_path / "clone")
    # Another port than 8000 (the machine is shared) and a private config directory.
    env = clean_env(tmp_path / "config", RUNYARD_PORT=str(free_port()))
    try:
        output = run(["bash", "-c", command], cwd=clone, env=env, timeout=1800)
        assert "== completed" in output and "final metrics:" in output, output
        dashboard = printed(output, "dashboard")
        token = printed(output, "admin token")
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            sign_in(page, dashboard.rstrip("/"), token)
            row = page.locator('[role="row"][data-state="completed"]').filter(has_text="digits-mlp")
            expect(row).to_be_visible(timeout=60_000)
            screenshot(page, "quickstart-dashboard")
    finally:
        runyard = clone / ".venv" / "bin" / "runyard"
        if runyard.exists():
            run([str(runyard), "down"], cwd=clone, env=env, timeout=120)
