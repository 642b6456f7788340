"""A redis-server of a test's own, on a free port, that the test can stop, kill and start
again: how tests play Redis outages and restarts for real."""

import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.worker.polling import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    directory: Path
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)  # type: ignore[arg-type]

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                self.password,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=15, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with self.client(socket_timeout=0.5, socket_connect_timeout=0.5) as probe:
                return bool(probe.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: everything Redis held is gone, as in a restart without persistence."""
        if self.process is None:
            return
        try:
            with self.client(socket_timeout=2) as admin:
                admin.shutdown(nosave=True)
        except redis.RedisError:
            pass  # the connection drops as it shuts down
        self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.process.kill()
            server.process.wait(timeout=10)
