from fastapi import APIRouter

from server.deps import CurrentUser, SessionDep, WorkerPrincipal
from server.error_responses import AUTH_ERRORS
from server.workers import service
from server.workers.schemas import HeartbeatAck, WorkerHeartbeat, WorkerPublic

router = APIRouter(tags=["workers"], responses=AUTH_ERRORS)


@router.post("/worker/heartbeat")
def heartbeat(
    beat: WorkerHeartbeat, principal: WorkerPrincipal, session: SessionDep
) -> HeartbeatAck:
    """A worker says it is alive, with its queue, slots and GPUs (worker token only)."""
    return service.record_heartbeat(session, principal, beat)


@router.get("/workers")
def list_workers(user: CurrentUser, session: SessionDep) -> list[WorkerPublic]:
    """Every registered worker and how long ago it was last heard from."""
    return service.list_workers(session)
