from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.metrics import service
from server.metrics.downsample import MIN_POINTS
from server.metrics.schemas import MetricKeysPublic, MetricSeriesBatchPublic, MetricSeriesPublic
from server.runs.repository import get_readable_run

router = APIRouter(tags=["metrics"], responses={**AUTH_ERRORS, **NOT_FOUND})

MAX_KEYS_PER_REQUEST = 100

MaxPoints = Annotated[int, Query(ge=MIN_POINTS, le=100_000)]
Start = Annotated[int | None, Query(ge=0, le=2**62, description="first step")]
End = Annotated[int | None, Query(ge=0, le=2**62, description="last step")]


@router.get("/runs/{run_id}/metrics")
def list_metric_keys(run_id: str, user: CurrentUser, session: SessionDep) -> MetricKeysPublic:
    """The metric keys a run has logged."""
    get_readable_run(session, user, run_id)
    return service.list_keys(session, run_id)


# Its own path rather than /metrics/series, which would hide a metric named "series".
@router.get("/runs/{run_id}/metric-series")
def get_metric_series_batch(
    run_id: str,
    user: CurrentUser,
    session: SessionDep,
    keys: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_KEYS_PER_REQUEST,
            description="metric keys, repeated (`keys=a&keys=b`); all of the run's when omitted",
        ),
    ] = None,
    max_points: MaxPoints = 2000,
    start: Start = None,
    end: End = None,
) -> MetricSeriesBatchPublic:
    """Several series of a run in one request, each downsampled as by
    `GET /runs/{run_id}/metrics/{key}` (at most `max_points` each, same `start`/`end`): what a
    page of charts asks for when it opens. An unknown key is a 404 naming it."""
    get_readable_run(session, user, run_id)
    return service.get_many_series(session, run_id, keys, max_points, start, end)


@router.get("/runs/{run_id}/metrics/{key:path}")
def get_metric_series(
    run_id: str,
    key: str,
    user: CurrentUser,
    session: SessionDep,
    max_points: MaxPoints = 2000,
    start: Start = None,
    end: End = None,
) -> MetricSeriesPublic:
    """One series, x = step, downsampled to at most `max_points`: each bucket's min and max and
    the last point are kept, so spikes stay visible. Zoom with `start`/`end`."""
    get_readable_run(session, user, run_id)
    return service.get_series(session, run_id, key, max_points, start, end)
