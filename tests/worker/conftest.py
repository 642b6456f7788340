"""Worker test fixtures: a real Redis with a key prefix unique to each test, a real server,
and the run task's context against both."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.worker.server_world import ServerWorld, server_world
from worker.events import Outbox
from worker.events import redis_client as connect
from worker.run_task import RunningRuns, TaskContext
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.uploads import Uploader

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"rytest-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def world(tmp_path) -> Iterator[ServerWorld]:
    with server_world(tmp_path / "server") as running:
        yield running


@pytest.fixture
def ctx(tmp_path, redis_prefix, world: ServerWorld):
    settings = WorkerSettings(
        name="w1",
        redis_prefix=redis_prefix,
        work_dir=tmp_path / "work",
        spool_dir=tmp_path / "spool",
        cancel_grace_seconds=1.0,
        accept_timeout_seconds=5,
        system_metrics_seconds=0,  # these tests count events; test_system_metrics samples
    )
    api = WorkerApi(world.url, world.worker_token("w1"), timeout=5)
    client = connect(settings.redis_url)
    uploader = Uploader(api, tmp_path / "spool" / "uploads")
    uploader.start()
    context = TaskContext(
        settings=settings,
        redis=client,
        api=api,
        running=RunningRuns(),
        outbox=Outbox(client, redis_prefix, tmp_path / "spool" / "events"),
        uploader=uploader,
        incarnation=uuid.uuid4().hex,
    )
    yield context
    uploader.close()
    api.close()
