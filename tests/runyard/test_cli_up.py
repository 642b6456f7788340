"""`runyard up` starts a real redis-server when none answers at the configured URL, and
stops what it started."""

import shutil

import pytest
import redis

from runyard.local_stack import LocalStack, StackOptions
from tests.e2e.stack import free_port


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_missing_redis_is_started_for_real_and_stopped_again(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    stack = LocalStack(StackOptions(data_dir=tmp_path, redis_url=url, say=lambda _m: None))
    stack._ensure_redis()
    try:
        assert redis.Redis.from_url(url).ping()
        assert [name for name, _ in stack.processes] == ["redis"]
    finally:
        stack.down()
    [(_, process)] = stack.processes
    assert process.poll() is not None


def test_an_answering_redis_is_used_as_it_is(tmp_path):
    stack = LocalStack(
        StackOptions(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0", say=lambda _m: None)
    )
    stack._ensure_redis()
    assert stack.processes == []
