"""Suite-wide fixtures. Package-specific fixtures live in each tests/<package>/conftest.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, redis_server


@pytest.fixture(autouse=True)
def _private_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test gets its own per-user config directory (local stacks, saved logins), so no
    test reads or writes the real ~/.config/runyard, and none sees another's."""
    directory = tmp_path_factory.mktemp("user-config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNYARD_CONFIG_DIR", str(directory))
        yield directory


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (with a password), which it may stop and restart."""
    with redis_server(tmp_path / "redis") as server:
        yield server
