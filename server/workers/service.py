from sqlalchemy import select
from sqlalchemy.orm import Session

from server.attempts.service import record_report
from server.db import utcnow
from server.errors import Forbidden
from server.principals import Principal
from server.workers.models import Worker
from server.workers.schemas import HeartbeatAck, WorkerHeartbeat, WorkerPublic


def record_heartbeat(session: Session, principal: Principal, beat: WorkerHeartbeat) -> HeartbeatAck:
    """Creates or refreshes the worker named in the heartbeat. A worker token speaks only for
    the worker it was issued to; run-scoped tokens (user code) cannot heartbeat at all."""
    if principal.kind != "worker":
        raise Forbidden("heartbeats need a worker token (ry_worker_...), not a run-scoped token")
    if principal.worker_name and principal.worker_name != beat.name:
        raise Forbidden(
            f"this worker token belongs to worker {principal.worker_name!r}, not {beat.name!r}; "
            "use that worker's own token"
        )
    now = utcnow()
    worker = session.scalar(select(Worker).where(Worker.name == beat.name))
    if worker is None:
        worker = Worker(name=beat.name)
        session.add(worker)
    worker.queue = beat.queue
    worker.hostname = beat.hostname
    worker.slots_total = beat.slots_total
    worker.gpu_names = list(beat.gpu_names)
    worker.state = beat.state
    worker.isolation = beat.isolation
    worker.incarnation = beat.incarnation
    worker.last_heartbeat = now
    outcome = record_report(session, beat.name, beat, now, since=beat.since)
    session.commit()
    return HeartbeatAck(
        worker_id=worker.id,
        received_at=now,
        server_time=now,
        ended=outcome.ended,
        cancel=outcome.cancel,
        preempt=outcome.preempt,
    )


def list_workers(session: Session) -> list[WorkerPublic]:
    now = utcnow()
    workers = session.scalars(select(Worker).order_by(Worker.name))
    return [
        WorkerPublic(
            id=w.id,
            name=w.name,
            queue=w.queue,
            hostname=w.hostname,
            slots_total=w.slots_total,
            gpu_names=w.gpu_names,
            last_heartbeat=w.last_heartbeat,
            state=w.state,
            isolation=w.isolation,
            seconds_since_heartbeat=max(0.0, (now - w.last_heartbeat).total_seconds()),
        )
        for w in workers
    ]
