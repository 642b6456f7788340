"""`python -m worker`: one worker per node. Settings from RUNYARD_WORKER_* variables."""

import logging
import threading

from runyard.schemas import worker_queue
from worker.celery_app import make_celery
from worker.events import redis_client, replay_spools
from worker.heartbeat import cancel_listener, heartbeat_loop
from worker.run_task import RunningRuns, TaskContext
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.slots import detect_slots


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = WorkerSettings()
    slots = detect_slots(settings.gpus)
    client = redis_client(settings.redis_url)
    # socket_timeout would cut the blocking pub/sub read; the listener needs its own client.
    listener_client = type(client).from_url(settings.redis_url, socket_connect_timeout=1.0)
    api = WorkerApi(
        settings.server_url, settings.token.get_secret_value() if settings.token else None
    )
    running = RunningRuns()
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    try:
        replay_spools(client, settings.redis_prefix, settings.spool_dir)
    except OSError as exc:
        logging.warning("leftover event spools not delivered yet: %s", exc)
    stop = threading.Event()
    threading.Thread(
        target=heartbeat_loop, args=(settings, api, slots, running, stop), daemon=True
    ).start()
    threading.Thread(
        target=cancel_listener,
        args=(listener_client, settings.redis_prefix, running, stop),
        daemon=True,
    ).start()
    app = make_celery(
        settings, TaskContext(settings=settings, redis=client, api=api, running=running)
    )
    logging.info(
        "worker %s: slots %s, queue %s", settings.name, ",".join(slots), worker_queue(settings.name)
    )
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={max(len(slots), 1)}",
                f"--queues={worker_queue(settings.name)}",
                f"--hostname={settings.name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ]
        )
    finally:
        stop.set()
        api.close()


if __name__ == "__main__":
    main()
