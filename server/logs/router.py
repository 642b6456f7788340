from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.logs import repository
from server.logs.schemas import LogLinePublic, LogPage
from server.runs.repository import get_readable_run

router = APIRouter(tags=["logs"], responses={**AUTH_ERRORS, **NOT_FOUND})


@router.get("/runs/{run_id}/logs")
def list_logs(
    run_id: str,
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="last line id already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="text the line contains"),
    ] = None,
) -> LogPage:
    """A run's log lines in order, a page at a time."""
    get_readable_run(session, user, run_id)
    lines = repository.page(session, run_id, after, limit, q)
    return LogPage(
        run_id=run_id,
        lines=[LogLinePublic.model_validate(line, from_attributes=True) for line in lines],
        next_after=lines[-1].id if len(lines) == limit else None,
    )
