"""The whole service as real processes for end-to-end tests: `python -m server` on a fresh
PostgreSQL database, the ingester, the scheduler and Celery workers, each test stack with its
own password-protected redis-server (as `runyard up` runs it) and its own data directory."""

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runyard.client import Client
from runyard.local_stack import LocalStack, StackOptions
from tests.server.conftest import create_postgres_database, drop_postgres_database

# The shared Redis of tests that need no stack of their own (see tests/server/conftest.py).
REDIS_URL = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_stack(
    data_dir: Path, *, gpus: int = 1, extra_env: dict[str, str] | None = None, **scheduler: str
) -> Iterator[LocalStack]:
    """`scheduler`: RUNYARD_SCHEDULER_* knobs by their lower-case names; `extra_env`: more
    variables for every process."""
    database_url = create_postgres_database()
    knobs = {
        "RUNYARD_SCHEDULER_TICK_SECONDS": "0.2",
        "RUNYARD_WORKER_HEARTBEAT_SECONDS": "1",
    }
    knobs |= {f"RUNYARD_SCHEDULER_{k.upper()}": v for k, v in scheduler.items()}
    knobs |= extra_env or {}
    stack = LocalStack(
        StackOptions(
            data_dir=data_dir,
            port=free_port(),
            database_url=database_url,
            worker_name="w1",
            gpus=gpus,
            extra_env=knobs,
            say=lambda _msg: None,
        )
    )
    try:
        stack.up()
        # A second scheduler process: only one may lead, so nothing is placed twice.
        stack._start(
            "scheduler-2",
            [sys.executable, "-m", "server.scheduler"],
            stack._server_env() | {"RUNYARD_SCHEDULER_PUBLIC_URL": stack.options.url},
        )
        yield stack
    finally:
        stack.down()
        drop_postgres_database(database_url)


def client_for(stack: LocalStack) -> Client:
    return Client(stack.options.url, stack.admin_token)
