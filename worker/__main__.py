"""`python -m worker`: one worker per node. Settings from RUNYARD_WORKER_* variables."""

import logging
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from pydantic import ValidationError

from runyard.schemas import worker_queue
from worker.celery_app import make_celery
from worker.events import Outbox, redis_client
from worker.heartbeat import Heart, cancel_listener, heartbeat_loop
from worker.process_group import INHERITED_ENV
from worker.run_task import RunningRuns, TaskContext
from worker.sandbox import IsolationUnavailable, SandboxPool, enforce_isolation_policy
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.slots import detect_slots, gpu_names
from worker.uploads import Uploader


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
    try:
        # Before anything else: a worker that cannot isolate runs must not take any.
        enforce_isolation_policy(settings)
    except IsolationUnavailable as exc:
        logging.error("%s", exc)
        raise SystemExit(2) from exc
    slots = detect_slots(settings.gpus)
    client = redis_client(settings.redis_url)
    # socket_timeout would cut the blocking pub/sub read; the listener needs its own client.
    listener_client = type(client).from_url(settings.redis_url, socket_connect_timeout=1.0)
    api = WorkerApi(
        settings.server_url, settings.token.get_secret_value() if settings.token else None
    )
    running = RunningRuns()
    incarnation = uuid.uuid4().hex
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    # Events and uploads a previous process of this worker left behind go out first; its
    # uploads must reach the server before this process reports (after which the attempts
    # they belong to are requeued as lost).
    outbox = Outbox(client, settings.redis_prefix, settings.spool_dir / "events")
    if (left := outbox.recover()) > 0:
        logging.info("delivering the events of %d journal(s) left by the previous process", left)
    threading.Thread(target=outbox.run, args=(stop,), name="outbox", daemon=True).start()
    uploader = Uploader(api, settings.spool_dir / "uploads")
    if (pending := uploader.start()) > 0:
        logging.info("finishing %d upload(s) left by the previous process", pending)
        if not uploader.wait(None, timeout=settings.restart_upload_seconds):
            logging.warning("uploads left by the previous process are not all done yet")
    heart = Heart(
        settings=settings,
        api=api,
        client=client,
        slots=slots,
        running=running,
        incarnation=incarnation,
        gpu_names=gpu_names(slots),
        isolation=settings.isolation,
    )
    threading.Thread(target=heartbeat_loop, args=(heart, stop), daemon=True).start()
    threading.Thread(
        target=cancel_listener,
        args=(listener_client, settings.redis_prefix, running, stop),
        daemon=True,
    ).start()
    # Sandboxed runs start from the pool's pre-started sandboxes; without isolation, from the
    # warm launcher.
    pool = SandboxPool.for_worker(settings) if settings.isolation == "sandbox" else None
    launcher, launcher_socket = (None, None) if pool else start_warm_launcher()
    if pool is not None:
        pool.start()
    app = make_celery(
        settings,
        TaskContext(
            settings=settings,
            redis=client,
            api=api,
            running=running,
            outbox=outbox,
            uploader=uploader,
            incarnation=incarnation,
            launcher=launcher_socket,
            sandboxes=pool,
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
        if launcher is not None:
            launcher.terminate()
        if pool is not None:
            pool.close()
        api.close()


if __name__ == "__main__":
    main()
