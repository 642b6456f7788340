"""A hostile team member's code, submitted through the API to a real stack (SQLite, and
PostgreSQL with separate workers), tries what was tried by hand: read the data directory,
the admin token, the database, another run's directory and other processes' environments,
talk to Redis, leave processes behind, eat memory, and use tokens past their purpose. Each
attempt is refused or fails harmlessly, with the reason in the run's log or the answer, and
the stack is unchanged afterwards."""

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.client import Client
from runyard.local_stack import LocalStack, StackOptions
from tests.chaos.invariants import leftover_run_processes
from tests.e2e.stack import REPO, free_port
from tests.redis_server import RedisServer
from tests.server.conftest import create_postgres_database, drop_postgres_database
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

TINY_DATA = {"entrypoint": "tests.worker.tiny_models:TinyData", "init_args": {"samples": 32}}
TRAINER = {"max_epochs": 1, "num_sanity_val_steps": 0, "log_every_n_steps": 1}
TERMINAL = ("completed", "failed", "canceled")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(request, tmp_path, own_redis: RedisServer) -> Iterator[LocalStack]:
    database_url = create_postgres_database() if request.param == "postgresql" else ""
    running = LocalStack(
        StackOptions(
            data_dir=tmp_path / "data",
            port=free_port(),
            redis_url=own_redis.url,
            redis_prefix=f"ryattack-{secrets.token_hex(4)}",
            database_url=database_url,
            worker_name="w1",
            gpus=1,
            extra_env={
                "RUNYARD_SCHEDULER_TICK_SECONDS": "0.2",
                "RUNYARD_WORKER_HEARTBEAT_SECONDS": "1",
                "RUNYARD_WORKER_SANDBOX_EXTRA_PATHS": str(REPO / "tests"),
            },
            say=lambda _msg: None,
        )
    )
    try:
        running.up()
        if request.param == "postgresql":
            running.start_worker("w2", 1)
            running.wait_for_worker("w2")
        yield running
    finally:
        running.down()
        if database_url:
            drop_postgres_database(database_url)


def finished(client: Client, run_id: str, timeout: float = 240) -> dict:
    return wait_for(
        lambda: (r := client.run(run_id))["state"] in TERMINAL and r,
        timeout=timeout,
        what=f"run {run_id} to finish",
    )


def log_text(client: Client, run_id: str) -> list[str]:
    lines: list[str] = []
    after = 0
    while True:
        page = client.logs(run_id, after=after, limit=5000)
        lines += [line["text"] for line in page["lines"]]
        if page["next_after"] is None:
            return lines
        after = page["next_after"]


def probes(lines: list[str]) -> dict[str, dict]:
    found = (json.loads(line.removeprefix("PROBE ")) for line in lines if line.startswith("PROBE "))
    return {p["probe"]: p for p in found}


def pid_of(stack: LocalStack, name: str) -> int:
    [process] = [p for label, p in stack.processes if label == name]
    return process.pid


def mallory(admin: Client, stack: LocalStack) -> Client:
    """A second member of the team, with a project of her own and no admin rights."""
    created = admin._call(
        "POST", "/api/v1/users", json={"email": "mallory@example.test", "name": "mallory"}
    )
    client = Client(stack.options.url, created["token"])
    client.ensure_project("mallory")
    return client


def test_hostile_code_reaches_nothing_but_its_own_run(stack: LocalStack, tmp_path) -> None:
    admin = Client(stack.options.url, stack.admin_token)
    admin.ensure_project("victims")
    victim_spec = {
        "name": "victim",
        "project": "victims",
        "model": {"entrypoint": "tests.worker.tiny_models:TinyClassifier"},
        "datamodule": TINY_DATA,
        "trainer": TRAINER,
        "export": {"formats": []},
    }
    [victim] = admin.submit(victim_spec)["run_ids"]
    assert finished(admin, victim)["state"] == "completed"
    users_before = sorted((u["email"], u["is_admin"]) for u in admin._call("GET", "/api/v1/users"))

    attacker = mallory(admin, stack)
    data = stack.options.data_dir.resolve()
    work = data / "workers" / "w1" / "work"
    redis_port = int(re.search(r":(\d+)/", stack.options.redis_url).group(1))  # type: ignore[union-attr]
    spec = {
        "name": "curious",
        "project": "mallory",
        "model": {
            "entrypoint": "tests.e2e.hostile_models:Prober",
            "init_args": {
                "paths": {
                    "admin_token": str(data / "admin-token"),
                    "server_log": str(data / "logs" / "server.log"),
                    "sqlite_database": str(data / "runyard.db"),
                    "worker_spool": str(data / "workers" / "w1" / "spool"),
                    "other_sandboxes": str(work / "sandboxes"),
                    "server_environ": f"/proc/{pid_of(stack, 'server')}/environ",
                    "worker_environ": f"/proc/{pid_of(stack, 'worker')}/environ",
                },
                "redis": ["127.0.0.1", redis_port],
            },
        },
        "datamodule": TINY_DATA,
        "trainer": TRAINER,
        "export": {"formats": []},
    }
    [curious] = attacker.submit(spec)["run_ids"]
    assert finished(attacker, curious)["state"] == "completed"
    lines = log_text(attacker, curious)
    seen = probes(lines)
    assert any("sandbox: uid" in line for line in lines), lines[:5]
    for probe in (
        "admin_token",
        "server_log",
        "sqlite_database",
        "worker_spool",
        "other_sandboxes",
        "server_environ",
        "worker_environ",
        "processes",
        "environ",
        "redis",
    ):
        assert probe in seen and seen[probe]["reached"] is False, seen.get(probe)
    assert "NOAUTH" in seen["redis"]["detail"] or "Error" in seen["redis"]["detail"]

    # Her run's token dies with its run: no upload can replace a checkpoint afterwards.
    [token] = [line.removeprefix("TOKEN ") for line in lines if line.startswith("TOKEN ")]
    content = b"not my weights"
    late = httpx.post(
        f"{stack.options.url}/api/v1/worker/runs/{curious}/checkpoints",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Content-SHA256": hashlib.sha256(content).hexdigest(),
        },
        data={"attempt": "1", "epoch": "0", "step": "1"},
        files={"file": ("x.ckpt", content)},
    )
    assert late.status_code == 409 and "expired with its attempt" in late.text
    other = httpx.get(
        f"{stack.options.url}/api/v1/worker/runs/{victim}/bundle",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert other.status_code == 403

    # The stack is as it was: no new admin, nothing written into the victim's run.
    users_after = sorted((u["email"], u["is_admin"]) for u in admin._call("GET", "/api/v1/users"))
    assert users_after == sorted([*users_before, ("mallory@example.test", False)])
    assert not any("PROBE" in line for line in log_text(admin, victim))
    assert leftover_run_processes([victim, curious]) == []


def test_processes_a_run_leaves_behind_die_with_it_when_it_ends_and_when_canceled(
    stack: LocalStack,
) -> None:
    admin = Client(stack.options.url, stack.admin_token)
    admin.ensure_project("escape")
    markers = []
    for linger, cancel in ((0.0, False), (600.0, True)):
        marker = f"runyard-escapee-{secrets.token_hex(6)}"
        markers.append(marker)
        spec = {
            "name": "escaper",
            "project": "escape",
            "model": {
                "entrypoint": "tests.e2e.hostile_models:Escaper",
                "init_args": {"marker": marker, "linger": linger},
            },
            "datamodule": TINY_DATA,
            "trainer": TRAINER,
            "export": {"formats": []},
        }
        [run_id] = admin.submit(spec)["run_ids"]
        if cancel:
            wait_for(
                lambda run_id=run_id, marker=marker: f"ESCAPED {marker}" in log_text(admin, run_id),
                timeout=240,
                what="the escapees to start",
            )
            admin.cancel(run_id)
        run = finished(admin, run_id)
        assert run["state"] == ("canceled" if cancel else "completed"), run.get("exit_reason")
        assert f"ESCAPED {marker}" in log_text(admin, run_id)
        wait_for(
            lambda marker=marker: not _processes_with(marker),
            timeout=30,
            what=f"no process with {marker} left",
        )


def _processes_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return [pid for pid in found if pid != os.getpid()]


def test_a_run_over_its_memory_limit_fails_saying_so(stack: LocalStack) -> None:
    admin = Client(stack.options.url, stack.admin_token)
    admin.ensure_project("hungry")
    spec = {
        "name": "hog",
        "project": "hungry",
        "model": {"entrypoint": "tests.e2e.hostile_models:MemoryHog"},
        "datamodule": TINY_DATA,
        "trainer": TRAINER,
        "resources": {"memory": "1Gi"},
        "export": {"formats": []},
    }
    [run_id] = admin.submit(spec)["run_ids"]
    run = finished(admin, run_id)
    assert run["state"] == "failed"
    assert "exceeded its memory limit of 1.0 GiB" in run["exit_reason"], run["exit_reason"]


@pytest.mark.postgres
def test_a_worker_token_reaches_only_the_runs_its_worker_holds(stack: LocalStack) -> None:
    if not stack.options.database_url:
        pytest.skip("the two-worker case runs on the PostgreSQL stack")
    admin = Client(stack.options.url, stack.admin_token)
    admin.ensure_project("split")
    spec = {
        "name": "held",
        "project": "split",
        "model": {"entrypoint": "tests.worker.tiny_models:SlowClassifier"},
        "datamodule": TINY_DATA,
        "trainer": {**TRAINER, "max_epochs": 30},
        "export": {"formats": []},
    }
    [run_id] = admin.submit(spec)["run_ids"]
    wait_for(lambda: admin.run(run_id)["state"] == "running", timeout=240, what="the run")
    holder = {w["id"]: w["name"] for w in admin.workers()}[admin.run(run_id)["worker_id"]]
    other = "w2" if holder == "w1" else "w1"
    token = admin.create_token(f"spare {other}", kind="worker", worker_name=other)["token"]
    answer = httpx.get(
        f"{stack.options.url}/api/v1/worker/runs/{run_id}/bundle",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 403 and f"does not hold run {run_id}" in answer.text
    admin.cancel(run_id)
    finished(admin, run_id)
