"""The ingester as a background thread of the app, for the single-machine setup."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from redis import Redis

from server.ingest.consumer import Ingester, IngestOptions
from server.ingest.run_limits import RunLimits
from server.settings import Settings


@contextmanager
def ingester_in_process(app: FastAPI) -> Iterator[Ingester | None]:
    """Runs an ingester thread for the app's lifetime when RUNYARD_INGEST_IN_PROCESS is true."""
    settings: Settings = app.state.settings
    if not settings.ingest_in_process:
        yield None
        return
    # Its own Redis connection: a blocking XREADGROUP must not hold up request handlers.
    redis = Redis.from_url(settings.redis_url)
    instruments = getattr(app.state, "instruments", None)
    ingester = Ingester(
        app.state.session_factory,
        redis,
        settings.redis_prefix,
        options=IngestOptions(limits=RunLimits.from_settings(settings)),
        on_batch=instruments.record_batch if instruments is not None else None,
    )
    stop = threading.Event()
    thread = threading.Thread(target=ingester.run, args=(stop,), name="ingester", daemon=True)
    thread.start()
    try:
        yield ingester
    finally:
        stop.set()
        thread.join(timeout=30)
        redis.close()
