"""What the browser benches share: the real app served by `python -m server` on a free port,
with the built dashboard, and the headless Chromium flags they launch Debian's browser with."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.web.browser import CHROMIUM, CHROMIUM_ARGS  # one definition of the browser

REPO_ROOT = Path(__file__).resolve().parents[1]
__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "REPO_ROOT",
    "free_port",
    "require_dashboard_build",
    "served_app",
]


def require_dashboard_build() -> None:
    if not (REPO_ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the dashboard first: cd web && npm ci && npm run build")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_app(database_url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The app on `database_url` (its own data dir and Redis key prefix unless `env` names
    them), up and healthy; yields its base URL and stops it afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = {
            "RUNYARD_DATABASE_URL": database_url,
            "RUNYARD_PORT": str(port),
            "RUNYARD_DATA_DIR": data_dir,
            "RUNYARD_REDIS_PREFIX": f"rybench-{secrets.token_hex(4)}",
        } | (env or {})
        log_path = Path(data_dir) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "server"],
                cwd=REPO_ROOT,
                env=os.environ | settings,
                stdout=log,
                stderr=log,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                _wait_healthy(base, process, log_path)
                yield base
                process.terminate()
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)  # polling the health check, with a deadline
    raise SystemExit(f"the server did not come up; see {log_path}:\n{log_path.read_text()[-2000:]}")
