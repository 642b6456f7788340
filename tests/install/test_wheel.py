"""The README's install block, run as written on a wheel: `python -m build` on a fresh clone
makes the wheel, the block installs it into a fresh venv outside the repository, and from an
empty directory `runyard up` starts the service (migrations and the dashboard come from the
package) and `runyard submit --follow` runs the packaged digits example to the end."""

import shlex
import sys

import httpx
import pytest

from tests.e2e.stack import free_port
from tests.install.fresh import clean_env, fresh_clone, run
from tests.readme import block_starting
from tests.worker.polling import wait_for

# A fresh clone installs torch, the dashboard's packages and a venv: minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def install_script(wheel: str, port: int) -> str:
    """The README block with the wheel for the checkout, a free port, and checks of the
    dashboard and the database after `runyard up`."""
    lines = ["set -euo pipefail", "trap 'runyard down >/dev/null 2>&1 || true' EXIT"]
    for command in block_starting("python -m venv").commands():
        if command.startswith("python -m venv"):
            command = command.replace("python", shlex.quote(sys.executable), 1)
        command = command.replace('".[server,worker]"', shlex.quote(f"{wheel}[server,worker]"))
        if command == "runyard up --detach":
            command += f" --port {port}"
            command += f"\ncurl -fs http://127.0.0.1:{port}/ | grep -q 'id=\"root\"'"
            command += "\ntest -f .runyard/runyard.db  # migrated from the package"
        lines.append(command)
    return "\n".join(lines) + "\n"


def test_the_readme_install_block_runs_a_wheel_and_a_packaged_example(tmp_path):
    env = clean_env(tmp_path / "config")
    clone = fresh_clone(tmp_path / "clone")
    run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(clone)],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    [wheel] = (tmp_path / "dist").glob("runyard-*.whl")
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    script = install_script(str(wheel), port)
    assert "runyard submit digits.yaml --follow" in script and "runyard down" in script
    output = run(["bash", "-c", script], cwd=work, env=env, timeout=1800)
    assert "== completed" in output and "final metrics:" in output, output
    assert "val_loss" in output and "exports (runyard download" in output
    assert "stopped" in output.splitlines()[-1]
    wait_for(lambda: not _answers(f"http://127.0.0.1:{port}/healthz"), timeout=30, what="stop")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
