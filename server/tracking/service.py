"""External runs: created running by a client outside the cluster, fed batches of points and
params, finished by that client. The scheduler never sees them (runs.kind = 'external').

Points go through the metric store's own write path (metric_store.write_metrics) as attempt 1
with the batch's seq, under the run's usage lock, like the ingester's: a step keeps the point
of the greatest seq that wrote it. A batch is stored once: its (run, seq) row is written in
the same transaction, and a resent batch finds it and changes nothing.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas.events import MetricsEvent
from runyard.schemas.states import TERMINAL_STATES, RunState
from runyard.schemas.streams import run_channel
from runyard.schemas.tracking import (
    BatchStored,
    ExternalPoint,
    ExternalRunCreate,
    ExternalRunPublic,
    ParamValue,
    RunKind,
    flat_params,
)
from server.db import utcnow
from server.errors import Conflict, Forbidden, NotFound
from server.experiments.models import Experiment, ExperimentTag
from server.ingest.metric_rows import metric_rows
from server.ingest.metric_store import write_metrics
from server.ingest.run_limits import RunLimits, lock_usage, save_usage
from server.projects.models import Project, Role
from server.projects.service import project_by_name, require_role
from server.runs.models import Run, RunTransition
from server.runs.repository import get_readable_run, replace_params, store_params
from server.runs.service import transition
from server.tracking.abandonment import hear_from
from server.tracking.models import ExternalBatch
from server.users.models import User

log = logging.getLogger(__name__)

EXTERNAL_WORKER = "external"
"""The `worker` the points of an external run are attributed to (no worker holds it)."""


@dataclass(frozen=True)
class Announce:
    """Where to tell live views that a run changed (after the commit)."""

    redis: Redis
    prefix: str


def create_external_run(
    session: Session,
    user: User,
    data: ExternalRunCreate,
    *,
    source: str = "runyard.init",
    tags: dict[str, str] | None = None,
) -> Run:
    """A running external run in `data.project`, which the caller must be a member of, as its
    own experiment (named `data.name`)."""
    project = project_by_name(session, user, data.project)
    return create_in_project(session, user, project, data, source=source, tags=tags)


def create_in_project(
    session: Session,
    user: User,
    project: Project,
    data: ExternalRunCreate,
    *,
    source: str,
    tags: dict[str, str] | None = None,
) -> Run:
    require_role(session, user, project.id, Role.member)
    now = utcnow()
    spec: dict[str, Any] = {
        "kind": RunKind.external.value,
        "source": source,
        "config": json.loads(json.dumps(data.config, default=str)),
        "tags": dict(tags or {}),
    }
    labels = list(dict.fromkeys(t[:64] for t in data.tags))
    experiment = Experiment(
        project_id=project.id,
        owner_id=user.id,
        name=data.name,
        tags=labels,
        spec=spec,
        created_at=now,
    )
    session.add(experiment)
    session.flush()
    session.add_all(ExperimentTag(experiment_id=experiment.id, tag=t) for t in labels)
    run = Run(
        experiment_id=experiment.id,
        project_id=project.id,
        owner_id=user.id,
        kind=RunKind.external.value,
        state=RunState.running.value,
        attempt=1,
        spec=spec,
        params=flat_params(data.config),
        devices=[],
        created_at=now,
        queued_at=None,
        started_at=now,
        last_contact_at=now,
    )
    session.add(run)
    session.flush()
    store_params(session, run.id, run.params)  # filterable and sortable like a scheduled run's
    session.add(
        RunTransition(
            run_id=run.id,
            from_state=None,
            to_state=RunState.running.value,
            attempt=1,
            reason=f"started outside the cluster ({source})",
            at=now,
        )
    )
    session.commit()
    return run


def writable_external_run(session: Session, user: User, run_id: str, *, lock: bool) -> Run:
    """The external run, if the caller may log into it: its owner, or an admin of its project
    (a member of the project otherwise gets 403, anyone else 404). Locking it means its client
    is heard: the contact is recorded, and a run given up as abandoned runs again."""
    run = get_readable_run(session, user, run_id)
    if run.kind != RunKind.external.value:
        raise Conflict(
            "this run is scheduled by Runyard and logs through its worker; "
            "log from outside the cluster into a run made by runyard.init"
        )
    role = require_role(session, user, run.project_id, Role.member)
    if run.owner_id != user.id and role != Role.admin:
        raise Forbidden("only the run's owner or a project admin may log into it")
    if lock:
        locked = session.get(Run, run.id, with_for_update=True, populate_existing=True)
        assert locked is not None
        run = locked
        hear_from(session, run, utcnow())
    return run


def external_run_public(session: Session, run: Run) -> ExternalRunPublic:
    experiment = session.get(Experiment, run.experiment_id)
    return ExternalRunPublic(
        id=run.id,
        project_id=run.project_id,
        experiment_id=run.experiment_id,
        name=experiment.name if experiment else "",
        state=RunState(run.state),
        last_seq=last_seq(session, run.id),
        url=f"/runs/{run.id}",
        abandoned=run.abandoned_at is not None,
    )


def last_seq(session: Session, run_id: str) -> int | None:
    return session.scalar(select(func.max(ExternalBatch.seq)).where(ExternalBatch.run_id == run_id))


def store_batch(
    session: Session,
    run: Run,
    seq: int | None,
    points: Sequence[ExternalPoint],
    params: dict[str, ParamValue],
    limits: RunLimits,
    announce: Announce | None = None,
) -> BatchStored:
    """Stores one batch of the (locked) run and commits; `seq` None takes the next one (for
    clients that number nothing, like MLflow's)."""
    if seq is None:
        seq = (last_seq(session, run.id) or 0) + 1
    elif session.get(ExternalBatch, (run.id, seq)) is not None:
        session.commit()  # only the contact
        return BatchStored(seq=seq, duplicate=True, points=0)
    if RunState(run.state) in TERMINAL_STATES:
        raise Conflict(
            f"the run is {run.state}; nothing more can be logged into it. "
            "Start a new run with runyard.init"
        )
    stored = 0
    conn = session.connection()
    if points:
        # The points were validated as ExternalPoints, which have MetricPoint's fields and
        # bounds; metric_rows reads only those fields, so they go in as they are (a
        # MetricPoint made per point would cost more than storing it).
        event = MetricsEvent.model_construct(
            run_id=run.id,
            attempt=run.attempt,
            fence=1,
            worker=EXTERNAL_WORKER,
            seq=seq,
            ts=utcnow(),
            points=list(points),
        )
        usage = lock_usage(conn, [run.id])
        written = write_metrics(conn, metric_rows([event]), limits.max_metric_keys)
        if run.id in written.refused:
            usage[run.id].metric_points_refused += written.refused[run.id][0]
        save_usage(conn, usage.values())
        stored = written.points
    if params:
        run.params = {**run.params, **params}
        replace_params(session, run.id, params)
    session.add(ExternalBatch(run_id=run.id, seq=seq, points=stored, received_at=utcnow()))
    session.commit()
    if announce is not None and (stored or params):
        _announce(announce, run.id, stored)
    return BatchStored(seq=seq, duplicate=False, points=stored)


def finish_external_run(
    session: Session,
    run: Run,
    state: RunState,
    reason: str | None,
    announce: Announce | None = None,
) -> Run:
    """Ends the (locked) run; finishing it again in the same state changes nothing."""
    current = RunState(run.state)
    if current in TERMINAL_STATES:
        if current == state:
            return run
        raise Conflict(f"the run is {current.value} already; it cannot become {state.value}")
    transition(session, run, state, reason or f"{state.value} by its client")
    session.commit()
    if announce is not None:
        _announce(announce, run.id, 0)
    return run


def set_external_tags(session: Session, run: Run, tags: dict[str, str]) -> None:
    """Key/value tags (MLflow's) of the (locked) run, kept in its spec; commits."""
    spec = dict(run.spec or {})
    spec["tags"] = {**spec.get("tags", {}), **tags}
    run.spec = spec
    session.commit()


def heartbeat(session: Session, run: Run) -> None:
    """The (locked, so heard) run's client is alive with nothing to send; commits."""
    session.commit()


def external_run_or_404(session: Session, user: User, run_id: str) -> Run:
    run = get_readable_run(session, user, run_id)
    if run.kind != RunKind.external.value:
        raise NotFound("no such external run among your projects")
    return run


def _announce(announce: Announce, run_id: str, points: int) -> None:
    try:
        notice = json.dumps({"points": points, "lines": 0})
        announce.redis.publish(run_channel(run_id, announce.prefix), notice)
    except RedisError:
        log.warning("could not tell live views about run %s", run_id, exc_info=True)
