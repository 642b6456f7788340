"""`runyard up`: the whole service on one machine, as child processes.

Starts the stack's own `redis-server` (password-protected, see `runyard.local_redis`) unless
told to use a running Redis, then the server (which migrates the database and prints the admin
token on first start), the ingester, the scheduler and one worker, each with its log in
`<data_dir>/logs/`. The admin token is kept in `<data_dir>/admin-token` (mode 600) and, for
`runyard up`, in the per-user config directory, so the CLI and SDK find it from anywhere; the
process ids are kept in `<data_dir>/pids` so `runyard down` can stop a detached stack.

Two stacks never share keys: each has its own Redis, and its key prefix is derived from its
data directory. A stack that finds another one on its prefix says which and does not start.
"""

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from runyard import local_redis
from runyard.client import Client, RunyardError
from runyard.private_files import private_dir, write_private
from runyard.schemas.streams import scheduler_leader_key, stack_owner_key
from runyard.user_config import LocalStackRecord, record_local_stack

_TOKEN_LINE = re.compile(r"\b(ry_user_[A-Za-z0-9_\-]+)")


class StackError(RunyardError):
    """A part of the local stack did not come up; the message names its log file."""


@dataclass
class StackOptions:
    data_dir: Path = Path(".runyard")
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    """None: the stack's own redis-server with a generated password, on a free port. Else a
    running Redis to use, e.g. redis://:<password>@host:6379/0."""
    redis_prefix: str | None = None
    """None: derived from the data directory, so stacks sharing a Redis never share keys."""
    database_url: str = ""
    worker_name: str = "local"
    gpus: int | None = None
    startup_timeout: float = 90.0
    extra_env: dict[str, str] = field(default_factory=dict)
    """Added to every process's environment (e.g. RUNYARD_SCHEDULER_* knobs)."""
    first_project: str | None = "examples"
    """Created on the stack's first start, so the packaged examples can be submitted as they are."""
    record_in: Path | None = None
    """A per-user config directory to record the URL and admin token in (`runyard up` does)."""
    say: Callable[[str], None] = print

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def prefix(self) -> str:
        return self.redis_prefix or stack_prefix(self.data_dir)


def stack_prefix(data_dir: Path) -> str:
    """The Redis key prefix of the stack in `data_dir`: the same on every start of that stack,
    different for any other directory."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"runyard-{digest}"


def token_file(data_dir: Path) -> Path:
    return data_dir / "admin-token"


def _server_answers(url: object) -> bool:
    if not isinstance(url, str):
        return False
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _live_pids(data_dir: Path) -> list[str]:
    """Entries of the pids file whose process still runs the program recorded there."""
    pids = data_dir / "pids"
    if not pids.is_file():
        return []
    alive = []
    for line in pids.read_text().splitlines():
        pid, _, name = line.partition(" ")
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"redis-server" in cmdline or b"-m\x00server" in cmdline or b"-m\x00worker" in cmdline:
            alive.append(f"{name} (pid {pid})")
    return alive


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
    redis_url: str = ""
    """The Redis every part uses (with its password); set by `up`."""

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
            "RUNYARD_REDIS_URL": self.redis_url,
            "RUNYARD_REDIS_PREFIX": o.prefix,
            "RUNYARD_HOST": o.host,
            "RUNYARD_PORT": str(o.port),
            "RUNYARD_INGEST_IN_PROCESS": "false",
        }
        if o.database_url:
            env["RUNYARD_DATABASE_URL"] = o.database_url
        return env

    def up(self) -> None:
        o = self.options
        private_dir(o.data_dir)
        running = _live_pids(o.data_dir)
        if running:
            raise StackError(
                f"a stack from {o.data_dir} is already running ({', '.join(running)}); stop it "
                f"with `runyard down --data-dir {o.data_dir}` or use another --data-dir"
            )
        if not local_redis.port_is_free(o.port, o.host):
            raise StackError(
                f"port {o.port} on {o.host} is in use (another Runyard stack?); pass --port "
                "with a free port"
            )
        (o.data_dir / "pids").unlink(missing_ok=True)
        self._ensure_redis()
        self._claim_prefix()
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
            "RUNYARD_WORKER_REDIS_URL": self.redis_url,
            "RUNYARD_WORKER_REDIS_PREFIX": o.prefix,
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
        if o.redis_url is not None:
            if not local_redis.answers(o.redis_url):
                raise StackError(
                    f"no Redis answers at {local_redis.describe(o.redis_url)} (or it refused the "
                    "password in the URL); start it, or leave out --redis-url and the stack "
                    "starts its own"
                )
            self.redis_url = o.redis_url
            return
        binary = local_redis.redis_server_binary()
        endpoint, config = local_redis.prepare(o.data_dir)
        o.say(f"starting redis-server on port {endpoint.port} (password in {config})")
        self._start("redis", [binary, str(config)], {})
        self.redis_url = endpoint.url
        _wait(
            lambda: local_redis.answers(endpoint.url), 15, "redis-server", self.logs / "redis.log"
        )

    def _claim_prefix(self) -> None:
        """Refuse to start next to another stack on the same Redis prefix, naming it."""
        import redis  # late: `runyard` stays light for SDK users

        o = self.options
        mine = {"data_dir": str(o.data_dir.resolve()), "url": o.url}
        where = f"Redis prefix {o.prefix!r} on {local_redis.describe(self.redis_url)}"
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            raw = client.get(stack_owner_key(o.prefix))
            owner = json.loads(raw) if raw else None
            leader = client.exists(scheduler_leader_key(o.prefix))
            if isinstance(owner, dict) and owner.get("data_dir") != mine["data_dir"]:
                if leader or _server_answers(owner.get("url")):
                    raise StackError(
                        f"another Runyard stack uses {where}: data directory "
                        f"{owner.get('data_dir')}, serving {owner.get('url')}; stop it with "
                        f"`runyard down --data-dir {owner.get('data_dir')}` or start this one "
                        "with another --redis-prefix"
                    )
            elif owner is None and leader:
                raise StackError(
                    f"a scheduler that is not a local stack's already leads on {where}; start "
                    "this stack with another --redis-prefix (or without --redis-url)"
                )
            client.set(stack_owner_key(o.prefix), json.dumps(mine))
        finally:
            client.close()

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
        first_start = bool(found) and (not saved.exists() or saved.read_text().strip() != found[-1])
        if found:
            write_private(saved, found[-1] + "\n")
        if not saved.exists():
            raise StackError(
                f"the database in {o.data_dir} has users but {saved} is missing; pass "
                "RUNYARD_TOKEN=<an admin token> or start with a fresh --data-dir"
            )
        self.admin_token = saved.read_text().strip()
        if first_start and o.first_project:
            with Client(o.url, self.admin_token) as client:
                client.ensure_project(o.first_project)
        if o.record_in is not None:
            record_local_stack(
                o.record_in,
                LocalStackRecord(o.url, self.admin_token, str(o.data_dir.resolve())),
            )

    def wait_for_worker(self, name: str) -> None:
        o = self.options

        def registered() -> bool:
            with Client(o.url, self.admin_token) as client:
                return any(w["name"] == name for w in client.workers())

        _wait(registered, o.startup_timeout, f"worker {name}", self.logs)

    def down(self) -> None:
        """Stop the service, then its Redis (the others may need it while they shut down)."""
        service = [p for name, p in reversed(self.processes) if name != "redis"]
        redis = [p for name, p in self.processes if name == "redis"]
        for group in (service, redis):
            for process in group:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for process in group:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        (self.options.data_dir / "pids").unlink(missing_ok=True)


def stop_detached(data_dir: Path, timeout: float = 20.0) -> int:
    """Stop the processes a detached `runyard up` recorded and wait for them to exit (SIGKILL
    after `timeout`): the service first, then its Redis, which the others may still need while
    they shut down. Returns how many were stopped."""
    pids = data_dir / "pids"
    if not pids.exists():
        return 0
    entries = [
        (int(pid), name)
        for pid, name in (line.split(maxsplit=1) for line in pids.read_text().splitlines() if line)
    ]
    stopped = 0
    for redis_phase in (False, True):
        signalled: list[int] = []
        for pid, name in reversed(entries):
            if (name == "redis") != redis_phase:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
                signalled.append(pid)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + timeout
        for process_id in signalled:
            while _alive(process_id):
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process_id, signal.SIGKILL)
                    break
                time.sleep(0.1)  # polling interval: these are not our children to wait for
        stopped += len(signalled)
    pids.unlink()
    return stopped


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent reaps it
