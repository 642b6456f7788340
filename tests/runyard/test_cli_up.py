"""`runyard up`'s Redis: its own redis-server with a generated password kept out of reach, or
a running Redis used as it is; and a key prefix no other stack shares."""

import json
import shutil
import stat
from pathlib import Path

import pytest
import redis

from runyard.local_stack import LocalStack, StackError, StackOptions, stack_prefix
from runyard.schemas.streams import scheduler_leader_key, stack_owner_key
from tests.e2e.stack import REDIS_URL

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


@pytest.fixture
def own_redis(tmp_path):
    stack = LocalStack(StackOptions(data_dir=tmp_path / "data", say=lambda _m: None))
    stack.options.data_dir.mkdir()
    stack._ensure_redis()
    yield stack
    stack.down()


@needs_redis_server
def test_the_stacks_own_redis_refuses_clients_without_its_password(own_redis):
    authenticated = redis.Redis.from_url(own_redis.redis_url)
    assert authenticated.ping()
    port = authenticated.connection_pool.connection_kwargs["port"]
    anonymous = redis.Redis(host="127.0.0.1", port=port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    authenticated.close()
    anonymous.close()


@needs_redis_server
def test_the_redis_password_is_private_to_the_owner_and_not_on_a_command_line(own_redis):
    home = own_redis.options.data_dir / "redis"
    password = json.loads((home / "redis.json").read_text())["password"]
    assert len(password) >= 32
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("redis.json", "redis.conf"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    [(name, process)] = own_redis.processes
    cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    assert name == "redis" and password.encode() not in cmdline


@needs_redis_server
def test_a_restarted_stack_finds_its_redis_and_what_it_held(tmp_path):
    options = StackOptions(data_dir=tmp_path, say=lambda _m: None)
    first = LocalStack(options)
    first._ensure_redis()
    try:
        redis.Redis.from_url(first.redis_url).set("kept", "yes")
    finally:
        first.down()
    second = LocalStack(options)
    second._ensure_redis()
    try:
        assert second.redis_url == first.redis_url
        assert redis.Redis.from_url(second.redis_url).get("kept") == b"yes"
    finally:
        second.down()


def test_a_given_redis_url_is_used_as_it_is(tmp_path):
    stack = LocalStack(StackOptions(data_dir=tmp_path, redis_url=REDIS_URL, say=lambda _m: None))
    stack._ensure_redis()
    assert stack.processes == [] and stack.redis_url == REDIS_URL


def test_a_given_redis_that_does_not_answer_is_named_without_its_password(tmp_path):
    url = "redis://:hunter2@127.0.0.1:1/0"
    stack = LocalStack(StackOptions(data_dir=tmp_path, redis_url=url, say=lambda _m: None))
    with pytest.raises(StackError, match=r"no Redis answers at redis://:\*\*\*@127.0.0.1:1/0"):
        stack._ensure_redis()


def test_the_key_prefix_is_derived_from_the_data_directory(tmp_path):
    assert stack_prefix(tmp_path / "a") == stack_prefix(tmp_path / "a")
    assert stack_prefix(tmp_path / "a") != stack_prefix(tmp_path / "b")
    assert StackOptions(data_dir=tmp_path / "a").prefix == stack_prefix(tmp_path / "a")


@pytest.mark.redis
def test_a_scheduler_leading_on_the_prefix_stops_the_stack_from_starting(tmp_path):
    stack = LocalStack(StackOptions(data_dir=tmp_path, redis_url=REDIS_URL, say=lambda _m: None))
    shared = redis.Redis.from_url(REDIS_URL)
    shared.set(scheduler_leader_key(stack.options.prefix), "someone", px=60_000)
    try:
        stack._ensure_redis()
        with pytest.raises(StackError, match="a scheduler that is not a local stack's"):
            stack._claim_prefix()
        assert shared.get(stack_owner_key(stack.options.prefix)) is None
    finally:
        shared.delete(scheduler_leader_key(stack.options.prefix))
        shared.close()
