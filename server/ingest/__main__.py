"""`python -m server.ingest`: the ingester as its own process, until SIGINT or SIGTERM."""

import argparse
import logging
import signal
import threading

from redis import Redis

from server.db import make_engine, make_session_factory
from server.ingest.consumer import Ingester, IngestOptions
from server.ingest.run_limits import RunLimits
from server.settings import settings_or_exit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Store worker events from Redis in SQL.")
    parser.add_argument("--consumer", help="consumer name in the group (default: host-pid)")
    parser.add_argument("--batch-size", type=int, default=IngestOptions.batch_size)
    parser.add_argument(
        "--claim-idle-ms",
        type=int,
        default=IngestOptions.claim_idle_ms,
        help="take over other consumers' entries pending this long",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    settings = settings_or_exit("ingester")
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ingester = Ingester(
        make_session_factory(engine),
        redis,
        settings.redis_prefix,
        consumer=args.consumer,
        options=IngestOptions(
            batch_size=args.batch_size,
            claim_idle_ms=args.claim_idle_ms,
            limits=RunLimits.from_settings(settings),
        ),
    )
    try:
        ingester.run(stop)
    finally:
        redis.close()
        engine.dispose()


if __name__ == "__main__":
    main()
