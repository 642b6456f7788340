"""`python -m server` migrates, prints the bootstrap admin token once, and serves."""

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.worker.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"ry_user_[A-Za-z0-9_\-]+")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(data_dir: Path, log: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "RUNYARD_DATA_DIR": str(data_dir),
        "RUNYARD_PORT": str(port),
        "RUNYARD_REDIS_PREFIX": f"runyard_t_main_{port}",
        "RUNYARD_INGEST_IN_PROCESS": "false",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=REPO, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=60, what="the server to answer /healthz")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_first_start_prints_a_working_admin_token_once_and_never_again(tmp_path: Path) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with running_server(tmp_path / "data", first_log) as base:
        tokens = TOKEN.findall(first_log.read_text())
        assert len(tokens) == 1
        me = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {tokens[0]}"})
        assert me.status_code == 200 and me.json()["is_admin"] is True
    with running_server(tmp_path / "data", second_log):
        assert TOKEN.findall(second_log.read_text()) == []
