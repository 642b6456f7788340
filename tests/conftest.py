"""Suite-wide fixtures. Package-specific fixtures live in each tests/<package>/conftest.py."""

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer, redis_server


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (with a password), which it may stop and restart."""
    with redis_server(tmp_path / "redis") as server:
        yield server
