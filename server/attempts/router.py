from fastapi import APIRouter

from server.attempts import service
from server.attempts.schemas import AcceptAttempt, AttemptAccepted
from server.db import utcnow
from server.deps import SessionDep, WorkerPrincipal
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.errors import Forbidden

router = APIRouter(tags=["worker"], responses={**AUTH_ERRORS, **NOT_FOUND, **CONFLICT})


@router.post("/worker/attempts/{fence}/accept")
def accept_attempt(
    fence: int, body: AcceptAttempt, principal: WorkerPrincipal, session: SessionDep
) -> AttemptAccepted:
    """A worker takes its node of an attempt before starting it; 409 once the attempt ended
    (canceled, requeued), so a late or redelivered task is never started."""
    if principal.kind != "worker" or principal.worker_name is None:
        raise Forbidden("only a worker's own token (ry_worker_...) accepts attempts")
    attempt = service.accept(
        session, fence, body.node_rank, principal.worker_name, body.incarnation, utcnow()
    )
    session.commit()
    return AttemptAccepted(run_id=attempt.run_id, attempt=attempt.attempt, fence=attempt.fence)
