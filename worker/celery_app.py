"""The worker's Celery app: Redis broker, its own queue `worker.<name>`, one task (`RUN_TASK`).

Built by a function from settings (no app at import time). Tasks are acknowledged when
received, not after (Celery's default): a worker that dies mid-run is detected by its missing
heartbeats and the scheduler requeues the run as a new attempt, which is safer than a broker
redelivering the old one. A stale redelivery would be skipped anyway (`assignment_is_current`).
"""

from typing import Any

from celery import Celery

from runyard.schemas import RUN_TASK, broker_transport_options, worker_queue
from worker.run_task import TaskContext, execute
from worker.settings import WorkerSettings


def make_celery(settings: WorkerSettings, context: TaskContext | None = None) -> Celery:
    app = Celery(f"runyard-worker-{settings.name}", broker=settings.redis_url)
    app.conf.update(
        task_default_queue=worker_queue(settings.name),
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,  # a task waiting in this process blocks no other worker
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options=broker_transport_options(settings.redis_prefix),
    )
    if context is not None:

        @app.task(name=RUN_TASK, ignore_result=True)
        def run(payload: dict[str, Any]) -> str:
            return execute(payload, context)

    return app
