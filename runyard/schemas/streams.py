"""Where events travel in Redis, shared by the publishing workers and the server's ingester.

One stream per deployment, read by one consumer group; each entry has a single field `data`
holding an event's JSON (see `runyard.schemas.events`). The prefix lets several deployments,
or several test runs, share one Redis.
"""

DEFAULT_PREFIX = "runyard"
EVENT_FIELD = "data"
INGEST_GROUP = "ingest"


def events_stream(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}:events"


def run_channel(run_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Pub/sub channel the server announces newly stored events of a run on (for live views)."""
    return f"{prefix}:run:{run_id}"


def scheduler_leader_key(prefix: str = DEFAULT_PREFIX) -> str:
    """Held (with a TTL) by the one scheduler that leads on this prefix."""
    return f"{prefix}:scheduler:leader"


def stack_owner_key(prefix: str = DEFAULT_PREFIX) -> str:
    """Set by `runyard up`: which local stack (data directory, URL) uses this prefix."""
    return f"{prefix}:stack"
