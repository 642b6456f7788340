from typing import Annotated

from fastapi import APIRouter, Query

from server.cluster import service
from server.cluster.schemas import ClusterPublic, QueueEntry
from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND

router = APIRouter(tags=["cluster"], responses=AUTH_ERRORS)


@router.get("/cluster")
def get_cluster(
    user: CurrentUser,
    session: SessionDep,
    queue_limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> ClusterPublic:
    """Workers and who holds each slot, the queue in scheduling order, and each user's share
    of recent GPU time. Runs in projects you are not in are shown without names or ids."""
    return service.cluster_view(session, user, queue_limit)


@router.get("/runs/{run_id}/queue", responses={**NOT_FOUND, **CONFLICT})
def get_queue_position(run_id: str, user: CurrentUser, session: SessionDep) -> QueueEntry:
    """Where a queued run stands: its place in the cluster's order and in its owner's, what
    holds it, and an estimate of the wait."""
    return service.queue_entry(session, user, run_id)
