import math
from collections.abc import Callable, Iterator
from json import dumps

import numpy as np
from sqlalchemy.orm import Session

from server.errors import InvalidInput, NotFound
from server.ingest.models import RunIngestUsage
from server.metrics import candidates, repository
from server.metrics.columns import PointColumns
from server.metrics.downsample import Point, bucket_count, downsample
from server.metrics.models import MetricSeries
from server.metrics.schemas import (
    IngestUsagePublic,
    MetricKeysPublic,
    MetricPointPublic,
    MetricSeriesBatchPublic,
    MetricSeriesPublic,
    MetricSummaryPublic,
    RunSummaryPublic,
    StepValue,
    public_value,
)


def list_keys(session: Session, run_id: str) -> MetricKeysPublic:
    return MetricKeysPublic(run_id=run_id, keys=repository.series_keys(session, run_id))


def _not_found(run_id: str, key: str) -> NotFound:
    return NotFound(
        f"this run has no metric {key!r}; list its keys with GET /api/v1/runs/{run_id}/metrics"
    )


def _series_or_404(session: Session, run_id: str, key: str) -> MetricSeries:
    # A NUL cannot be in a stored key (PostgreSQL text refuses it), so it names nothing.
    series = None if "\x00" in key else repository.one_series(session, run_id, key)
    if series is None:
        raise _not_found(run_id, key)
    return series


def get_series(
    session: Session,
    run_id: str,
    key: str,
    max_points: int,
    start: int | None,
    end: int | None,
) -> MetricSeriesPublic:
    _check_range(start, end)
    series = _series_or_404(session, run_id, key)
    found = candidates.candidate_points(
        session,
        series.id,
        start,
        end,
        bucket_count(max_points),
        known_edges=_whole_series_edges(series, start, end),
    )
    return _public_series(run_id, key, max_points, found)


def _public_series(
    run_id: str, key: str, max_points: int, found: list[Point]
) -> MetricSeriesPublic:
    points = downsample(found, max_points)
    return MetricSeriesPublic.model_construct(
        run_id=run_id,
        key=key,
        max_points=max_points,
        downsampled=len(points) < len(found),
        points=[
            MetricPointPublic(
                step=p.step, value=public_value(p.value), epoch=p.epoch, wall_time=p.wall_time
            )
            for p in points
        ],
    )


def _whole_public_series(
    run_id: str, key: str, max_points: int, columns: PointColumns
) -> MetricSeriesPublic:
    """A series short enough to come back whole, straight from its columns (the same answer as
    `_public_series`, without a Point per point on the way)."""
    values = columns.value
    finite = bool(np.isfinite(values).all())
    return MetricSeriesPublic.model_construct(
        run_id=run_id,
        key=key,
        max_points=max_points,
        downsampled=False,
        # Dict displays, not MetricPointPublic(...) calls: three times faster, and a run with
        # thousands of keys builds hundreds of thousands of them.
        points=[
            {
                "step": step,
                "value": value if finite else public_value(value),
                "epoch": None if epoch < 0 else epoch,
                "wall_time": wall,
            }
            for step, value, epoch, wall in _rows(columns)
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
    charts costs one request. Repeated keys come back once. Short series (most of a run with
    thousands of keys) are read together, a few queries for all of them; long ones through the
    rollups, also together (server/metrics/candidates.py)."""
    _check_range(start, end)
    every = {s.key: s for s in repository.series_of_run(session, run_id)}
    wanted = sorted(every) if keys is None else list(dict.fromkeys(keys))
    for key in wanted:
        if key not in every:
            raise _not_found(run_id, key)
    lo = start if start is not None else 0
    hi = end if end is not None else repository.MAX_STEP
    short = [every[k].id for k in wanted if _is_short(every[k])]
    together = repository.whole_series_points(session, short)
    long_edges: dict[int, tuple[int, int]] = {}
    for key in wanted:
        series = every[key]
        if series.id in together or not series.points:
            continue
        edges = _whole_series_edges(series, start, end) or repository.range_edges(
            session, series.id, lo, hi
        )
        if edges is not None:
            long_edges[series.id] = edges
    # Every long series' rows in one statement per rollup tier, not several per series.
    long_candidates = candidates.candidates_of_many(session, long_edges)
    answers = []
    for key in wanted:
        sid = every[key].id
        if sid in together:
            columns = together[sid].between(lo, hi)
            if len(columns) <= max_points:
                answers.append(_whole_public_series(run_id, key, max_points, columns))
                continue
            found = repository.to_points(columns)
        else:
            found = long_candidates.get(sid, [])
        answers.append(_public_series(run_id, key, max_points, found))
    return MetricSeriesBatchPublic.model_construct(
        run_id=run_id, max_points=max_points, series=answers
    )


def _whole_series_edges(
    series: MetricSeries, start: int | None, end: int | None
) -> tuple[int, int] | None:
    """A whole series' first and last step, from its summary row (the ingester keeps them
    exact in the transaction that stores the points); None for a step window."""
    if start is not None or end is not None or not series.points:
        return None
    if series.first_step is None or series.last_step is None:
        return None
    return series.first_step, series.last_step


def _is_short(series: MetricSeries) -> bool:
    first, last = series.first_step, series.last_step
    return (
        bool(series.points)
        and first is not None
        and last is not None
        and (last - first < repository.RAW_SPAN_LIMIT)
    )


def _check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"start ({start}) is after end ({end}); give a step range with start <= end",
            loc=["query", "start"],
        )


def run_summary(session: Session, run_id: str) -> RunSummaryPublic:
    series = repository.series_of_run(session, run_id)
    usage = session.get(RunIngestUsage, run_id)
    return RunSummaryPublic(
        run_id=run_id,
        metrics=[_summary(s) for s in series if s.points],
        usage=IngestUsagePublic(
            log_bytes=usage.log_bytes if usage else 0,
            log_lines_dropped=usage.log_lines_dropped if usage else 0,
            metric_keys=len(series),
            metric_points_refused=usage.metric_points_refused if usage else 0,
            events_refused=usage.events_refused if usage else 0,
        ),
    )


def _summary(series: MetricSeries) -> MetricSummaryPublic:
    def at(step: int | None, value: float | None) -> StepValue:
        # NULL is NaN (SQLite stores no NaN).
        return StepValue(step=step or 0, value=public_value(math.nan if value is None else value))

    return MetricSummaryPublic(
        key=series.key,
        points=series.points,
        first_step=series.first_step or 0,
        last=at(series.last_step, series.last_value),
        min=at(series.min_step, series.min_value),
        max=at(series.max_step, series.max_value),
    )


def export_series(
    session: Session,
    session_factory: Callable[[], Session],
    run_id: str,
    key: str,
    fmt: str,
) -> tuple[MetricSeries, Iterator[bytes]]:
    """Every point of a series, as CSV or JSON text produced block by block (a series of any
    length streams in constant memory). Non-finite values are written NaN, Infinity and
    -Infinity, as everywhere in the API. The text is produced after the route has returned,
    so it reads through a session of its own."""
    series = _series_or_404(session, run_id, key)

    def blocks() -> Iterator[PointColumns]:
        with session_factory() as own:
            yield from repository.iter_blocks(own, series.id)

    if fmt == "csv":
        return series, _csv(blocks())
    return series, _json(run_id, key, blocks())


def _csv(blocks: Iterator[PointColumns]) -> Iterator[bytes]:
    yield b"step,value,epoch,wall_time\n"
    for block in blocks:
        lines = [
            f"{step},{_text(value)},{'' if epoch < 0 else epoch},{wall!r}\n"
            for step, value, epoch, wall in _rows(block)
        ]
        yield "".join(lines).encode()


def _json(run_id: str, key: str, blocks: Iterator[PointColumns]) -> Iterator[bytes]:
    yield f'{{"run_id":{dumps(run_id)},"key":{dumps(key)},"points":['.encode()
    separator = ""
    for block in blocks:
        items = [
            f'{{"step":{step},"value":{_json_value(value)},'
            f'"epoch":{"null" if epoch < 0 else epoch},"wall_time":{wall!r}}}'
            for step, value, epoch, wall in _rows(block)
        ]
        yield (separator + ",".join(items)).encode()
        separator = ","
    yield b"]}"


def _rows(block: PointColumns) -> Iterator[tuple[int, float, int, float]]:
    return zip(
        block.step.tolist(),
        block.value.tolist(),
        block.epoch.tolist(),
        block.wall_time.tolist(),
        strict=True,
    )


def _text(value: float) -> str:
    shown = public_value(value)
    return shown if isinstance(shown, str) else repr(shown)


def _json_value(value: float) -> str:
    shown = public_value(value)
    return f'"{shown}"' if isinstance(shown, str) else repr(shown)
