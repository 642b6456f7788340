"""A wheel built from a fresh clone with `python -m build` installs into a fresh venv outside
the repository, and `runyard up` there starts from an empty directory (migrations and the
dashboard come from the package) and runs a packaged example to the end."""

import sys

import httpx
import pytest

from tests.install.fresh import clean_env, fresh_clone, printed, run
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow]

TORCH = "torch==2.13.0"  # the pinned CPU wheel (pip finds it locally; nothing large downloads)


def test_a_wheel_runs_the_service_and_a_packaged_example_from_an_empty_directory(tmp_path):
    config = tmp_path / "config"
    env = clean_env(config)
    clone = fresh_clone(tmp_path / "clone")
    run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(clone)],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    [wheel] = (tmp_path / "dist").glob("runyard-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env, timeout=120)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    run([*pip, TORCH], cwd=tmp_path, env=env, timeout=600)
    run([*pip, f"{wheel}[server,worker]"], cwd=tmp_path, env=env, timeout=900)

    empty = tmp_path / "empty"
    empty.mkdir()
    runyard = str(venv / "bin" / "runyard")
    env = env | {"PATH": f"{venv / 'bin'}:{env['PATH']}"}
    port = str(_free_port())
    up = run([runyard, "up", "--detach", "--port", port], cwd=empty, env=env, timeout=300)
    try:
        dashboard = printed(up, "dashboard")
        page = httpx.get(dashboard, timeout=10)
        assert page.status_code == 200 and '<div id="root">' in page.text, page.text[:300]
        assert (empty / ".runyard" / "runyard.db").is_file()  # migrated from the package

        run([runyard, "examples", "digits", "-o", "digits.yaml"], cwd=empty, env=env, timeout=60)
        followed = run(
            [runyard, "submit", "digits.yaml", "--follow", "--timeout", "600"],
            cwd=empty,
            env=env,
            timeout=700,
        )
        assert "== completed" in followed and "final metrics:" in followed, followed
        assert "val_loss" in followed and "exports (runyard download" in followed
    finally:
        stopped = run([runyard, "down"], cwd=empty, env=env, timeout=120)
    assert "stopped" in stopped
    wait_for(lambda: not _answers(dashboard), timeout=30, what="the stack to stop")


def _free_port() -> int:
    from tests.e2e.stack import free_port

    return free_port()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
