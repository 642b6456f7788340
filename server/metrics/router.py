from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.metrics import service
from server.metrics.downsample import MIN_POINTS
from server.metrics.schemas import (
    MetricKeysPublic,
    MetricSeriesBatchPublic,
    MetricSeriesPublic,
    RunSummaryPublic,
)
from server.runs.repository import get_readable_run

router = APIRouter(tags=["metrics"], responses={**AUTH_ERRORS, **NOT_FOUND})

MAX_KEYS_PER_REQUEST = 100
_BATCH_JSON = TypeAdapter(MetricSeriesBatchPublic)

MaxPoints = Annotated[int, Query(ge=MIN_POINTS, le=100_000)]
Start = Annotated[int | None, Query(ge=0, le=2**62, description="first step")]
End = Annotated[int | None, Query(ge=0, le=2**62, description="last step")]


@router.get("/runs/{run_id}/metrics")
def list_metric_keys(run_id: str, user: CurrentUser, session: SessionDep) -> MetricKeysPublic:
    """The metric keys a run has logged."""
    get_readable_run(session, user, run_id)
    return service.list_keys(session, run_id)


# Its own path rather than /metrics/series, which would hide a metric named "series".
@router.get("/runs/{run_id}/metric-series", response_model=MetricSeriesBatchPublic)
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
) -> Response:
    """Several series of a run in one request, each downsampled as by
    `GET /runs/{run_id}/metrics/{key}` (at most `max_points` each, same `start`/`end`): what a
    page of charts asks for when it opens. An unknown key is a 404 naming it."""
    get_readable_run(session, user, run_id)
    batch = service.get_many_series(session, run_id, keys, max_points, start, end)
    # A run with thousands of keys answers with hundreds of thousands of points: serialized in
    # one pass by pydantic's core rather than validated again and dumped by the json module
    # (which took three quarters of the request's time at 5,000 keys).
    return Response(_BATCH_JSON.dump_json(batch), media_type="application/json")


@router.get("/runs/{run_id}/summary")
def get_run_summary(run_id: str, user: CurrentUser, session: SessionDep) -> RunSummaryPublic:
    """Each metric's last, min and max value with their steps (kept at ingest, so this reads
    one row per metric however long the run), and what the run's limits kept out."""
    get_readable_run(session, user, run_id)
    return service.run_summary(session, run_id)


_EXPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "with `resolution=full`: every point, streamed, as JSON "
        '(`{"run_id", "key", "points": [...]}`) or CSV (`step,value,epoch,wall_time`)',
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/runs/{run_id}/metrics/{key:path}", responses=_EXPORT)
def get_metric_series(
    run_id: str,
    key: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    max_points: MaxPoints = 2000,
    start: Start = None,
    end: End = None,
    resolution: Annotated[
        Literal["downsampled", "full"],
        Query(description="`full`: every point, streamed (max_points, start, end unused)"),
    ] = "downsampled",
    format: Annotated[Literal["json", "csv"], Query(description="of a `full` export")] = "json",
) -> MetricSeriesPublic:
    """One series, x = step, downsampled to at most `max_points`: each bucket's min and max and
    the last point are kept, so spikes stay visible. Zoom with `start`/`end`. With
    `resolution=full`, every stored point instead, streamed as JSON or CSV."""
    get_readable_run(session, user, run_id)
    if resolution == "full":
        series, body = service.export_series(
            session, request.app.state.session_factory, run_id, key, format
        )
        media = "text/csv" if format == "csv" else "application/json"
        name = f"{run_id}-{series.id}.{format}"
        return StreamingResponse(  # type: ignore[return-value]
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return service.get_series(session, run_id, key, max_points, start, end)
