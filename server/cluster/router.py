from typing import Annotated

from fastapi import APIRouter, Query

from server.cluster import service
from server.cluster.schemas import ClusterPublic
from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS

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
