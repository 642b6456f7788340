"""Worker test fixtures: a real Redis with a key prefix unique to each test."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.worker.server_world import ServerWorld, server_world

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
