"""The local stack's own Redis: a real `redis-server` on 127.0.0.1 that requires a password.

The password is generated on first start and kept with the port in `<data_dir>/redis/`
(folder mode 700, files mode 600), next to the append-only file, so a restarted stack finds its
queued events again. redis-server reads the password from its config file, never from its
command line, so it does not show in a process list; and nothing a run can read holds it (a
run sees only its own run directory).
"""

import json
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from runyard.client import RunyardError
from runyard.private_files import private_dir, write_private

HOST = "127.0.0.1"


class RedisUnavailable(RunyardError):
    """redis-server is missing or a Redis URL does not answer; the message says what to do."""


@dataclass(frozen=True)
class RedisEndpoint:
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@{HOST}:{self.port}/0"


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def redis_home(data_dir: Path) -> Path:
    return data_dir / "redis"


def prepare(data_dir: Path) -> tuple[RedisEndpoint, Path]:
    """The endpoint (the saved password, the saved port if still free, else a new free one)
    and the config file to start redis-server with."""
    home = private_dir(redis_home(data_dir).resolve())
    saved = home / "redis.json"
    state: dict[str, object] = json.loads(saved.read_text()) if saved.is_file() else {}
    password = str(state.get("password") or secrets.token_hex(24))
    port = state.get("port")
    if not isinstance(port, int) or not port_is_free(port):
        port = free_port()
    endpoint = RedisEndpoint(port=port, password=password)
    write_private(saved, json.dumps({"port": port, "password": password}) + "\n")
    config = home / "redis.conf"
    write_private(
        config,
        "\n".join(
            [
                f"bind {HOST}",
                f"port {port}",
                "protected-mode yes",
                f"requirepass {password}",
                f'dir "{home}"',
                "appendonly yes",  # queued events and tasks survive a restart of the stack
                'save ""',
                'logfile ""',
                "",
            ]
        ),
    )
    return endpoint, config


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(
            "redis-server is not installed; install Redis (apt-get install redis-server) or "
            "point the stack at a running Redis with --redis-url redis://:<password>@host:port/0"
        )
    return binary


def answers(url: str) -> bool:
    """True when a Redis at `url` accepts its credentials and answers a PING."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or HOST, parsed.port or 6379), 1):
            pass
    except OSError:
        return False
    import redis  # late: `runyard` stays light for SDK users

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parsed = urlparse(url)
    netloc = parsed.hostname or ""
    if parsed.port:
        netloc += f":{parsed.port}"
    if parsed.password:
        netloc = f":***@{netloc}"
    return parsed._replace(netloc=netloc).geturl()
