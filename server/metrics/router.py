from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.metrics import service
from server.metrics.downsample import MIN_POINTS
from server.metrics.schemas import MetricKeysPublic, MetricSeriesPublic
from server.runs.repository import get_readable_run

router = APIRouter(tags=["metrics"], responses={**AUTH_ERRORS, **NOT_FOUND})


@router.get("/runs/{run_id}/metrics")
def list_metric_keys(run_id: str, user: CurrentUser, session: SessionDep) -> MetricKeysPublic:
    """The metric keys a run has logged."""
    get_readable_run(session, user, run_id)
    return service.list_keys(session, run_id)


@router.get("/runs/{run_id}/metrics/{key:path}")
def get_metric_series(
    run_id: str,
    key: str,
    user: CurrentUser,
    session: SessionDep,
    max_points: Annotated[int, Query(ge=MIN_POINTS, le=100_000)] = 2000,
    start: Annotated[int | None, Query(ge=0, le=2**62, description="first step")] = None,
    end: Annotated[int | None, Query(ge=0, le=2**62, description="last step")] = None,
) -> MetricSeriesPublic:
    """One series, x = step, downsampled to at most `max_points`: each bucket's min and max and
    the last point are kept, so spikes stay visible. Zoom with `start`/`end`."""
    get_readable_run(session, user, run_id)
    return service.get_series(session, run_id, key, max_points, start, end)
