"""Sending run tasks to workers' own Celery queues, by task name (the server never imports
the worker package), and the assignment record workers check before they start."""

import json
import zlib
from collections.abc import Sequence

from celery import Celery
from redis import Redis

from runyard.schemas import (
    RUN_TASK,
    ExperimentSpec,
    RunAssignment,
    assignment_key,
    broker_transport_options,
    worker_queue,
)
from server.scheduler.placement import NodePlacement


def make_sender(redis_url: str, prefix: str) -> Celery:
    app = Celery("runyard-scheduler", broker=redis_url)
    app.conf.update(
        task_serializer="json",
        broker_transport_options=broker_transport_options(prefix),
        broker_connection_retry_on_startup=True,
    )
    return app


def master_port(run_id: str) -> int:
    """A port per run, so two multi-node runs sharing a rank-0 worker do not collide."""
    return 29500 + zlib.crc32(run_id.encode()) % 2000


def record_assignment(
    redis: Redis, prefix: str, run_id: str, attempt: int, nodes: Sequence[NodePlacement]
) -> None:
    redis.set(
        assignment_key(prefix, run_id),
        json.dumps(
            {
                "attempt": attempt,
                "workers": [n.worker for n in nodes],
                "slots": [list(n.slots) for n in nodes],
            }
        ),
    )


def forget_assignment(redis: Redis, prefix: str, run_id: str) -> None:
    redis.delete(assignment_key(prefix, run_id))


def send_run(
    sender: Celery,
    *,
    run_id: str,
    attempt: int,
    spec: ExperimentSpec,
    nodes: Sequence[NodePlacement],
    addresses: dict[str, str],
    run_token: str,
    server_url: str,
    bundle_url: str | None,
    resume_checkpoint_url: str | None,
) -> None:
    """One task per node, each to its worker's own queue; rank 0's address is the master."""
    master = addresses.get(nodes[0].worker) or "127.0.0.1"
    for rank, node in enumerate(nodes):
        payload = RunAssignment(
            run_id=run_id,
            attempt=attempt,
            worker_name=node.worker,
            spec=spec,
            slots=list(node.slots),
            run_token=run_token,
            server_url=server_url,
            bundle_url=bundle_url,
            resume_checkpoint_url=resume_checkpoint_url,
            node_rank=rank,
            num_nodes=len(nodes),
            master_addr=master if len(nodes) > 1 else None,
            master_port=master_port(run_id) if len(nodes) > 1 else None,
        )
        sender.send_task(
            RUN_TASK, args=[payload.model_dump(mode="json")], queue=worker_queue(node.worker)
        )
