import math

from sqlalchemy.orm import Session

from server.errors import InvalidInput, NotFound
from server.metrics import repository
from server.metrics.downsample import bucket_count, downsample
from server.metrics.schemas import (
    MetricKeysPublic,
    MetricPointPublic,
    MetricSeriesBatchPublic,
    MetricSeriesPublic,
)


def list_keys(session: Session, run_id: str) -> MetricKeysPublic:
    return MetricKeysPublic(run_id=run_id, keys=repository.series_keys(session, run_id))


def get_series(
    session: Session,
    run_id: str,
    key: str,
    max_points: int,
    start: int | None,
    end: int | None,
) -> MetricSeriesPublic:
    _check_range(start, end)
    # A NUL cannot be in a stored key (PostgreSQL text refuses it), so it names nothing.
    sid = None if "\x00" in key else repository.series_id(session, run_id, key)
    if sid is None:
        raise NotFound(
            f"this run has no metric {key!r}; list its keys with GET /api/v1/runs/{run_id}/metrics"
        )
    candidates = repository.candidate_points(session, sid, start, end, bucket_count(max_points))
    points = downsample(candidates, max_points)
    return MetricSeriesPublic(
        run_id=run_id,
        key=key,
        max_points=max_points,
        downsampled=len(points) < len(candidates),
        points=[
            MetricPointPublic(
                step=p.step,
                # JSON has no NaN or infinity; a chart shows a gap instead.
                value=p.value if p.value is not None and math.isfinite(p.value) else None,
                epoch=p.epoch,
                wall_time=p.wall_time,
            )
            for p in points
        ],
    )


def get_many_series(
    session: Session,
    run_id: str,
    keys: list[str] | None,
    max_points: int,
    start: int | None,
    end: int | None,
) -> MetricSeriesBatchPublic:
    """Several series of one run in one answer (every key when `keys` is None), so a page of
    charts costs one request. Repeated keys come back once."""
    _check_range(start, end)
    wanted = repository.series_keys(session, run_id) if keys is None else list(dict.fromkeys(keys))
    return MetricSeriesBatchPublic(
        run_id=run_id,
        max_points=max_points,
        series=[get_series(session, run_id, key, max_points, start, end) for key in wanted],
    )


def _check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"start ({start}) is after end ({end}); give a step range with start <= end",
            loc=["query", "start"],
        )
