"""The whole service as separately killable real processes, for the chaos suite: PostgreSQL,
a Redis of the suite's own (so it can be restarted), the server, two ingesters, two
schedulers (one leads) and three workers. Each process can be killed, restarted, paused and
resumed by name, which is how faults are injected: from outside, as an operator would."""

import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from runyard.client import Client
from tests.e2e.stack import free_port
from tests.redis_server import RedisServer
from tests.worker.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
_TOKEN = re.compile(r"\b(ry_user_[A-Za-z0-9_\-]+)")
_IDENTITY = re.compile(r"scheduler ([0-9a-f]{32}) started")


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0


@dataclass
class ChaosStack:
    root: Path
    redis: RedisServer
    database_url: str
    worker_timeout: float = 6.0
    workers: int = 3
    prefix: str = field(default_factory=lambda: f"rychaos-{secrets.token_hex(4)}")
    port: int = field(default_factory=free_port)
    services: dict[str, Service] = field(default_factory=dict)
    admin_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Client:
        return Client(self.url, self.admin_token)

    def _base_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONPATH": str(REPO),
            "RUNYARD_DATA_DIR": str(self.root / "data"),
            "RUNYARD_DATABASE_URL": self.database_url,
            "RUNYARD_REDIS_URL": self.redis.url,
            "RUNYARD_REDIS_PREFIX": self.prefix,
            "RUNYARD_HOST": "127.0.0.1",
            "RUNYARD_PORT": str(self.port),
            "RUNYARD_INGEST_IN_PROCESS": "false",
            "RUNYARD_SCHEDULER_TICK_SECONDS": "0.3",
            "RUNYARD_SCHEDULER_WORKER_TIMEOUT_SECONDS": str(self.worker_timeout),
            "RUNYARD_SCHEDULER_REDISPATCH_SECONDS": "5",
            "RUNYARD_SCHEDULER_PUBLIC_URL": self.url,
            "RUNYARD_WORKER_HEARTBEAT_SECONDS": "1",
            "RUNYARD_WORKER_SANDBOX_EXTRA_PATHS": str(REPO / "tests"),
        }

    def _add(self, name: str, module: str, *args: str, **env: str) -> Service:
        service = Service(
            name=name,
            argv=[sys.executable, "-m", module, *args],
            env=self._base_env() | env,
            log=self.root / "logs" / f"{name}.log",
        )
        self.services[name] = service
        return service

    def start(self, name: str) -> None:
        service = self.services[name]
        assert service.process is None or service.process.poll() is not None, f"{name} runs"
        service.log.parent.mkdir(parents=True, exist_ok=True)
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                service.argv,
                env=service.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        service.starts += 1
        if name == "server":
            self._wait_for_server()

    def kill(self, name: str) -> None:
        service = self.services[name]
        if service.process is not None and service.process.poll() is None:
            service.process.send_signal(signal.SIGKILL)
            service.process.wait(timeout=30)

    def pause(self, name: str) -> None:
        self._signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self._signal(name, signal.SIGCONT)

    def _signal(self, name: str, sig: signal.Signals) -> None:
        process = self.services[name].process
        assert process is not None and process.poll() is None, f"{name} is not running"
        process.send_signal(sig)

    def up(self) -> None:
        self._add("server", "server")
        self.start("server")
        for i in (1, 2):
            self._add(f"ingester-{i}", "server.ingest", "--consumer", f"ingester-{i}")
            self.start(f"ingester-{i}")
        for i in (1, 2):
            self._add(f"scheduler-{i}", "server.scheduler")
            self.start(f"scheduler-{i}")
        with self.client() as client:
            for i in range(1, self.workers + 1):
                name = f"w{i}"
                token = client.create_token(f"worker {name}", kind="worker", worker_name=name)
                home = self.root / "workers" / name
                self._add(
                    f"worker-{name}",
                    "worker",
                    RUNYARD_WORKER_NAME=name,
                    RUNYARD_WORKER_SERVER_URL=self.url,
                    RUNYARD_WORKER_TOKEN=token["token"],
                    RUNYARD_WORKER_REDIS_URL=self.redis.url,
                    RUNYARD_WORKER_REDIS_PREFIX=self.prefix,
                    RUNYARD_WORKER_WORK_DIR=str(home / "work"),
                    RUNYARD_WORKER_SPOOL_DIR=str(home / "spool"),
                    RUNYARD_WORKER_GPUS="1",
                    RUNYARD_WORKER_ADVERTISE_ADDR="127.0.0.1",
                )
                self.start(f"worker-{name}")
        wait_for(
            lambda: len(self._registered_workers()) == self.workers,
            timeout=120,
            what="every worker to register",
        )

    def _registered_workers(self) -> list[str]:
        with self.client() as client:
            return [w["name"] for w in client.workers()]

    def _wait_for_server(self) -> None:
        service = self.services["server"]

        def healthy() -> bool:
            assert service.process is not None
            assert service.process.poll() is None, f"the server exited; see {service.log}"
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=120, what="the server to answer")
        if not self.admin_token:
            self.admin_token = _TOKEN.findall(service.log.read_text())[-1]

    def leading_scheduler(self) -> str:
        """The name of the scheduler process holding the SQL lease now."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                holder = conn.execute(text("SELECT holder FROM scheduler_leases")).scalar()
        finally:
            engine.dispose()
        for name in ("scheduler-1", "scheduler-2"):
            log = self.services[name].log.read_text(errors="replace")
            if holder in _IDENTITY.findall(log):
                return name
        raise AssertionError(f"no scheduler process has identity {holder}")

    def down(self) -> None:
        for service in reversed(list(self.services.values())):
            process = service.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        for service in self.services.values():
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(timeout=10)
