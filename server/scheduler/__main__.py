"""`python -m server.scheduler`: the scheduler process. Start as many as you like; one leads.

Reads the server's RUNYARD_* settings (database, Redis) and RUNYARD_SCHEDULER_* knobs.
"""

import logging
import signal
import threading

from redis import Redis

from server.db import make_engine, make_session_factory
from server.scheduler.dispatch import make_sender
from server.scheduler.leader import Scheduler
from server.scheduler.settings import SchedulerSettings
from server.settings import settings_or_exit


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_or_exit("scheduler")
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=5.0)
    scheduler = Scheduler(
        SchedulerSettings(),
        session_factory=make_session_factory(engine),
        redis=redis,
        prefix=settings.redis_prefix,
        sender=make_sender(settings.redis_url, settings.redis_prefix),
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.info("scheduler %s started; waiting for leadership", scheduler.leadership.identity)
    try:
        scheduler.run_forever(stop)
    finally:
        redis.close()
        engine.dispose()


if __name__ == "__main__":
    main()
