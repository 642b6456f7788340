"""Sending run tasks to workers' own Celery queues, by task name (the server never imports
the worker package), and the assignment records workers check before and while they run.

Both follow SQL: a task lost with a Redis restart is sent again, and the records are rewritten
every tick, so neither needs to survive in Redis.
"""

import zlib
from collections.abc import Mapping, Sequence

from celery import Celery
from redis import Redis

from runyard.schemas import (
    RUN_TASK,
    AssignmentRecord,
    ExperimentSpec,
    RunAssignment,
    assignment_key,
    broker_transport_options,
    worker_queue,
)
from server.scheduler.placement import NodePlacement

RECORD_TTL_SECONDS = 3600
"""Records are rewritten every tick; the TTL only removes those of long-finished runs."""


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


def write_records(redis: Redis, prefix: str, records: Mapping[str, AssignmentRecord]) -> None:
    """Rewrites the assignment record of each run (its open attempt, or a tombstone)."""
    if not records:
        return
    pipe = redis.pipeline(transaction=False)
    for run_id, record in records.items():
        pipe.set(assignment_key(prefix, run_id), record.model_dump_json(), ex=RECORD_TTL_SECONDS)
    pipe.execute()


def send_run(
    sender: Celery,
    *,
    run_id: str,
    attempt: int,
    fence: int,
    spec: ExperimentSpec,
    nodes: Sequence[NodePlacement],
    addresses: Mapping[str, str],
    run_token: str,
    server_url: str,
    bundle_url: str | None,
    resume_checkpoint_url: str | None,
    lease_seconds: float,
    ranks: Sequence[int] | None = None,
    ends_paused: bool = False,
) -> None:
    """One task per node (or only the `ranks` given), each to its worker's own queue; rank
    0's address is the master."""
    master = addresses.get(nodes[0].worker) or "127.0.0.1"
    for rank, node in enumerate(nodes):
        if ranks is not None and rank not in ranks:
            continue
        payload = RunAssignment(
            run_id=run_id,
            attempt=attempt,
            fence=fence,
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
            lease_seconds=lease_seconds,
            ends_paused=ends_paused,
        )
        sender.send_task(
            RUN_TASK, args=[payload.model_dump(mode="json")], queue=worker_queue(node.worker)
        )
