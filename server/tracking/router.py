"""Routes for runs logged from outside the cluster (the wire of runyard.init)."""

from fastapi import APIRouter, status

from runyard.schemas.states import RunState
from runyard.schemas.tracking import (
    BatchStored,
    ExternalBatch,
    ExternalFinish,
    ExternalRunCreate,
    ExternalRunPublic,
)
from server.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.ingest.run_limits import RunLimits
from server.runs.models import Run
from server.tracking import service

router = APIRouter(tags=["tracking"], responses=AUTH_ERRORS)


@router.post("/external-runs", status_code=status.HTTP_201_CREATED, responses={**NOT_FOUND})
def create_external_run(
    data: ExternalRunCreate, user: CurrentUser, session: SessionDep
) -> ExternalRunPublic:
    """A run logged by a process Runyard did not start (a notebook, a laptop): it is created
    running, in a project you are a member of, as an experiment of its own named `name`, and
    is never scheduled. Send its points with `POST /external-runs/{run_id}/batches`."""
    run = service.create_external_run(session, user, data)
    return service.external_run_public(session, run)


@router.get("/external-runs/{run_id}", responses={**NOT_FOUND})
def get_external_run(run_id: str, user: CurrentUser, session: SessionDep) -> ExternalRunPublic:
    """The run and the greatest batch seq stored for it: what a client resuming it needs."""
    return service.external_run_public(session, service.external_run_or_404(session, user, run_id))


@router.post("/external-runs/{run_id}/batches", responses={**NOT_FOUND, **CONFLICT})
def post_batch(
    run_id: str,
    batch: ExternalBatch,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> BatchStored:
    """Points and params of the run (its owner or a project admin). Idempotent: a batch whose
    `seq` was stored before is answered with `duplicate: true` and changes nothing, so a
    client resends any batch it is unsure of. A step logged again in a later batch keeps the
    later value."""
    run = service.writable_external_run(session, user, run_id, lock=True)
    return service.store_batch(
        session,
        run,
        batch.seq,
        batch.points,
        batch.params,
        RunLimits.from_settings(settings),
        service.Announce(redis, settings.redis_prefix),
    )


@router.post("/external-runs/{run_id}/heartbeat", responses={**NOT_FOUND})
def send_external_run_heartbeat(
    run_id: str, user: CurrentUser, session: SessionDep
) -> ExternalRunPublic:
    """Tells the server the run's client is alive while it has nothing to send (runyard.init
    sends one every minute of quiet). A run silent for `RUNYARD_SCHEDULER_EXTERNAL_RUN_TIMEOUT_SECONDS`
    while the server was up is failed as abandoned; this, a batch or an end makes it running
    again."""
    run = service.writable_external_run(session, user, run_id, lock=True)
    service.heartbeat(session, run)
    return service.external_run_public(session, run)


@router.post("/external-runs/{run_id}/finish", responses={**NOT_FOUND, **CONFLICT})
def finish_external_run(
    run_id: str,
    data: ExternalFinish,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> ExternalRunPublic:
    """Ends the run as completed, failed or canceled; repeating the same end is a no-op."""
    run: Run = service.writable_external_run(session, user, run_id, lock=True)
    service.finish_external_run(
        session,
        run,
        RunState(data.state),
        data.reason,
        service.Announce(redis, settings.redis_prefix),
    )
    return service.external_run_public(session, run)
