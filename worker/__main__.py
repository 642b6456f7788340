"""`python -m worker`: one worker per node. Settings from RUNYARD_WORKER_* variables."""

import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError

from runyard.schemas import worker_queue
from worker.celery_app import make_celery
from worker.events import redis_client, replay_spools
from worker.heartbeat import cancel_listener, heartbeat_loop
from worker.process_group import INHERITED_ENV
from worker.run_task import RunningRuns, TaskContext
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.slots import detect_slots, gpu_names


def start_warm_launcher() -> tuple[subprocess.Popen[bytes], Path]:
    """The warm launcher (see worker.warm_start), with only the allow-listed environment: its
    memory is inherited by every run's child, so it must hold no worker secret."""
    socket_path = Path(tempfile.mkdtemp(prefix="runyard-")) / "launcher.sock"
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.warm_start", str(socket_path)], env=env
    )
    return process, socket_path


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = WorkerSettings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"runyard worker: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
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
        target=heartbeat_loop,
        args=(settings, api, client, slots, running, stop, gpu_names(slots)),
        daemon=True,
    ).start()
    threading.Thread(
        target=cancel_listener,
        args=(listener_client, settings.redis_prefix, running, stop),
        daemon=True,
    ).start()
    launcher, launcher_socket = start_warm_launcher()
    app = make_celery(
        settings,
        TaskContext(
            settings=settings, redis=client, api=api, running=running, launcher=launcher_socket
        ),
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
        launcher.terminate()
        api.close()


if __name__ == "__main__":
    main()
