"""`runyard up`: the whole service on one machine, as child processes.

Starts a real `redis-server` when none answers at the Redis URL, then the server (which
migrates the database and prints the admin token on first start), the ingester, the scheduler
and one worker, each with its log in `<data_dir>/logs/`. The admin token is kept in
`<data_dir>/admin-token` (mode 600) so the CLI finds it later; the process ids are kept in
`<data_dir>/pids` so `runyard down` can stop a detached stack.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from runyard.client import Client, RunyardError

_TOKEN_LINE = re.compile(r"\b(ry_user_[A-Za-z0-9_\-]+)")


class StackError(RunyardError):
    """A part of the local stack did not come up; the message names its log file."""


@dataclass
class StackOptions:
    data_dir: Path = Path(".runyard")
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "runyard"
    database_url: str = ""
    worker_name: str = "local"
    gpus: int | None = None
    startup_timeout: float = 90.0
    extra_env: dict[str, str] = field(default_factory=dict)
    """Added to every process's environment (e.g. RUNYARD_SCHEDULER_* knobs)."""
    say: Callable[[str], None] = print

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def token_file(data_dir: Path) -> Path:
    return data_dir / "admin-token"


def _redis_answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            pass
    except OSError:
        return False
    import redis  # late: `runyard` stays light for SDK users

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _wait(condition: Callable[[], bool], timeout: float, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            hint = f"; see {log}" if log else ""
            raise StackError(f"{what} did not come up within {timeout:.0f}s{hint}")
        time.sleep(0.2)  # polling interval


@dataclass
class LocalStack:
    options: StackOptions
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    admin_token: str = ""

    @property
    def logs(self) -> Path:
        return self.options.data_dir / "logs"

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv,
            env=os.environ | self.options.extra_env | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches `up`, which stops them
        )
        log.close()
        self.processes.append((name, process))
        with (self.options.data_dir / "pids").open("a") as pids:
            pids.write(f"{process.pid} {name}\n")
        return process

    def _server_env(self) -> dict[str, str]:
        o = self.options
        env = {
            "RUNYARD_DATA_DIR": str(o.data_dir.resolve()),
            "RUNYARD_REDIS_URL": o.redis_url,
            "RUNYARD_REDIS_PREFIX": o.redis_prefix,
            "RUNYARD_HOST": o.host,
            "RUNYARD_PORT": str(o.port),
            "RUNYARD_INGEST_IN_PROCESS": "false",
        }
        if o.database_url:
            env["RUNYARD_DATABASE_URL"] = o.database_url
        return env

    def up(self) -> None:
        o = self.options
        o.data_dir.mkdir(parents=True, exist_ok=True)
        (o.data_dir / "pids").unlink(missing_ok=True)
        self._ensure_redis()
        env = self._server_env()
        python = sys.executable
        server = self._start("server", [python, "-m", "server"], env)
        self._wait_for_server(server)
        self._start("ingester", [python, "-m", "server.ingest"], env)
        self._start(
            "scheduler",
            [python, "-m", "server.scheduler"],
            env | {"RUNYARD_SCHEDULER_PUBLIC_URL": o.url},
        )
        self.start_worker(o.worker_name, o.gpus)
        self.wait_for_worker(o.worker_name)

    def start_worker(self, name: str, gpus: int | None) -> subprocess.Popen[bytes]:
        """A worker process with its own token, work and spool directories."""
        o = self.options
        with Client(o.url, self.admin_token) as client:
            worker_token = client.create_token(f"worker {name}", kind="worker", worker_name=name)[
                "token"
            ]
        home = o.data_dir / "workers" / name
        worker_env = {
            "RUNYARD_WORKER_NAME": name,
            "RUNYARD_WORKER_SERVER_URL": o.url,
            "RUNYARD_WORKER_TOKEN": worker_token,
            "RUNYARD_WORKER_REDIS_URL": o.redis_url,
            "RUNYARD_WORKER_REDIS_PREFIX": o.redis_prefix,
            "RUNYARD_WORKER_WORK_DIR": str((home / "work").resolve()),
            "RUNYARD_WORKER_SPOOL_DIR": str((home / "spool").resolve()),
            "RUNYARD_WORKER_ADVERTISE_ADDR": o.host,
        }
        if gpus is not None:
            worker_env["RUNYARD_WORKER_GPUS"] = str(gpus)
        label = "worker" if name == o.worker_name else f"worker-{name}"
        return self._start(label, [sys.executable, "-m", "worker"], worker_env)

    def _ensure_redis(self) -> None:
        o = self.options
        if _redis_answers(o.redis_url):
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError(
                f"no Redis answers at {o.redis_url} and redis-server is not installed; "
                "install Redis (apt-get install redis-server) or set RUNYARD_REDIS_URL"
            )
        parsed = urlparse(o.redis_url)
        o.say(f"starting redis-server on port {parsed.port or 6379}")
        self._start(
            "redis",
            [
                binary,
                "--port",
                str(parsed.port or 6379),
                "--bind",
                parsed.hostname or "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            {},
        )
        _wait(lambda: _redis_answers(o.redis_url), 15, "redis-server", self.logs / "redis.log")

    def _wait_for_server(self, server: subprocess.Popen[bytes]) -> None:
        o = self.options
        log = self.logs / "server.log"

        def healthy() -> bool:
            if server.poll() is not None:
                raise StackError(f"the server exited with status {server.returncode}; see {log}")
            try:
                return httpx.get(f"{o.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(healthy, o.startup_timeout, "the server", log)
        found = _TOKEN_LINE.findall(log.read_text(errors="replace")) if log.exists() else []
        saved = token_file(o.data_dir)
        if found:
            saved.write_text(found[-1] + "\n")
            saved.chmod(0o600)
        if not saved.exists():
            raise StackError(
                f"the database in {o.data_dir} has users but {saved} is missing; pass "
                "RUNYARD_TOKEN=<an admin token> or start with a fresh --data-dir"
            )
        self.admin_token = saved.read_text().strip()

    def wait_for_worker(self, name: str) -> None:
        o = self.options

        def registered() -> bool:
            with Client(o.url, self.admin_token) as client:
                return any(w["name"] == name for w in client.workers())

        _wait(registered, o.startup_timeout, f"worker {name}", self.logs)

    def down(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        (self.options.data_dir / "pids").unlink(missing_ok=True)


def stop_detached(data_dir: Path) -> int:
    """Stop the processes a detached `runyard up` recorded; returns how many were signalled."""
    pids = data_dir / "pids"
    if not pids.exists():
        return 0
    entries = [line.split() for line in pids.read_text().splitlines() if line.strip()]
    stopped = 0
    for pid, _name in reversed(entries):
        try:
            os.kill(int(pid), signal.SIGTERM)
            stopped += 1
        except ProcessLookupError:
            continue
    pids.unlink()
    return stopped
