"""One active scheduler: a Redis key held with a TTL that the leader renews every tick.

A second process that starts finds the key taken and stands by; if the leader stops, the key
lapses after the TTL and a stand-by takes over. Compare-and-renew in Lua, so a leader that
stalled past its TTL cannot extend a lock someone else now holds.
"""

import uuid

from redis import Redis

from runyard.schemas.streams import scheduler_leader_key

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def leader_key(prefix: str) -> str:
    return scheduler_leader_key(prefix)


class Leadership:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: float) -> None:
        self._redis = redis
        self._key = leader_key(prefix)
        self._ttl_ms = int(ttl_seconds * 1000)
        self.identity = uuid.uuid4().hex

    def hold(self) -> bool:
        """Take or renew leadership; True while this process leads."""
        if self._redis.eval(_RENEW, 1, self._key, self.identity, self._ttl_ms):
            return True
        return bool(self._redis.set(self._key, self.identity, nx=True, px=self._ttl_ms))

    def release(self) -> None:
        self._redis.eval(_RELEASE, 1, self._key, self.identity)
