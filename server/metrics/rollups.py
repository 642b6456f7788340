"""Keeps `metric_rollups` (each bucket's min and max point) in step with `metric_points`, and
`metric_coarse_rollups` in step with `metric_rollups`.

Called by the ingester inside the batch's transaction. A bucket that only gains steps after
its last known step (the normal, appending case) is merged from the batch alone; a bucket whose
existing steps may have been rewritten (redelivery, a resumed attempt) is recomputed from the
stored points, so the rollup always matches what is stored.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from server.metrics.downsample import Point
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH

FINE_PER_COARSE = COARSE_ROLLUP_WIDTH // ROLLUP_WIDTH

_COLUMNS = (
    "series_id",
    "bucket",
    "last_step",
    "min_step",
    "min_value",
    "min_epoch",
    "min_wall_time",
    "max_step",
    "max_value",
    "max_epoch",
    "max_wall_time",
)


def _upsert(table: str) -> Any:
    return text(
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
        "ON CONFLICT (series_id, bucket) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
    )


_UPSERT = _upsert("metric_rollups")
_UPSERT_COARSE = _upsert("metric_coarse_rollups")
_EXISTING = text(
    "SELECT bucket, last_step, min_step, min_value, min_epoch, min_wall_time, "
    "max_step, max_value, max_epoch, max_wall_time FROM metric_rollups "
    "WHERE series_id = :series_id AND bucket BETWEEN :lo AND :hi"
)
_STORED = text(
    "SELECT step, value, epoch, wall_time FROM metric_points "
    "WHERE series_id = :series_id AND step >= :lo AND step < :hi ORDER BY step"
).bindparams(bindparam("lo"), bindparam("hi"))


def extremes(points: Sequence[Point]) -> tuple[Point, Point]:
    """The min and max point of a step-sorted bucket (ties keep the earlier step; a real value
    beats a missing one; with no real value at all, the first point stands for both)."""
    real = [p for p in points if p.value is not None]
    if not real:
        return points[0], points[0]
    return min(real, key=_value), max(real, key=_value)


def _step(point: Point) -> int:
    return point.step


def _value(point: Point) -> float:
    assert point.value is not None
    return point.value


def refresh_rollups(conn: Connection, written: Mapping[int, Sequence[Point]]) -> None:
    """Updates the rollups of every bucket the batch's points (by series id) fall in."""
    rows: list[dict[str, Any]] = []
    for series_id, points in written.items():
        by_bucket: dict[int, list[Point]] = defaultdict(list)
        for point in sorted(points, key=_step):
            by_bucket[point.step // ROLLUP_WIDTH].append(point)
        existing = {
            row.bucket: row
            for row in conn.execute(
                _EXISTING, {"series_id": series_id, "lo": min(by_bucket), "hi": max(by_bucket)}
            )
        }
        for bucket, fresh in by_bucket.items():
            old = existing.get(bucket)
            if old is None:
                candidates: list[Point] = fresh
            elif min(p.step for p in fresh) > old.last_step:
                candidates = [
                    Point(old.min_step, old.min_value, old.min_epoch, old.min_wall_time),
                    Point(old.max_step, old.max_value, old.max_epoch, old.max_wall_time),
                    *fresh,
                ]
            else:
                candidates = _stored(conn, series_id, bucket)
            low, high = extremes(candidates)
            rows.append(
                {
                    "series_id": series_id,
                    "bucket": bucket,
                    "last_step": max(p.step for p in candidates),
                    **_as_columns("min", low),
                    **_as_columns("max", high),
                }
            )
    if rows:
        conn.execute(_UPSERT, rows)
    refresh_coarse_rollups(
        conn,
        {sid: {p.step // COARSE_ROLLUP_WIDTH for p in points} for sid, points in written.items()},
    )


def refresh_coarse_rollups(conn: Connection, touched: Mapping[int, Iterable[int]]) -> None:
    """Recomputes the given coarse buckets (by series id) from the fine rollups under them,
    which must already be up to date. The min of the mins and the max of the maxes are the
    coarse bucket's extremes, with the same tie and missing-value rules as `extremes`."""
    rows: list[dict[str, Any]] = []
    for series_id, coarse in touched.items():
        wanted = set(coarse)
        if not wanted:
            continue
        fine = conn.execute(
            _EXISTING,
            {
                "series_id": series_id,
                "lo": min(wanted) * FINE_PER_COARSE,
                "hi": (max(wanted) + 1) * FINE_PER_COARSE - 1,
            },
        )
        members: dict[int, list[Any]] = defaultdict(list)
        for row in fine:
            if row.bucket // FINE_PER_COARSE in wanted:
                members[row.bucket // FINE_PER_COARSE].append(row)
        for bucket, under in members.items():
            candidates = sorted(
                (
                    point
                    for r in under
                    for point in (
                        Point(r.min_step, r.min_value, r.min_epoch, r.min_wall_time),
                        Point(r.max_step, r.max_value, r.max_epoch, r.max_wall_time),
                    )
                ),
                key=_step,
            )
            low, high = extremes(candidates)
            rows.append(
                {
                    "series_id": series_id,
                    "bucket": bucket,
                    "last_step": max(r.last_step for r in under),
                    **_as_columns("min", low),
                    **_as_columns("max", high),
                }
            )
    if rows:
        conn.execute(_UPSERT_COARSE, rows)


def backfill_coarse_rollups(conn: Connection) -> None:
    """Computes every coarse rollup from the fine ones (the migration that adds the tier)."""
    touched: dict[int, set[int]] = defaultdict(set)
    for series_id, bucket in conn.execute(
        text("SELECT DISTINCT series_id, bucket / :n FROM metric_rollups"),
        {"n": FINE_PER_COARSE},
    ):
        touched[int(series_id)].add(int(bucket))
    refresh_coarse_rollups(conn, touched)


def _stored(conn: Connection, series_id: int, bucket: int) -> list[Point]:
    lo = bucket * ROLLUP_WIDTH
    result = conn.execute(_STORED, {"series_id": series_id, "lo": lo, "hi": lo + ROLLUP_WIDTH})
    return [Point(r.step, r.value, r.epoch, r.wall_time) for r in result]


def _as_columns(prefix: str, point: Point) -> dict[str, Any]:
    return {
        f"{prefix}_step": point.step,
        f"{prefix}_value": point.value,
        f"{prefix}_epoch": point.epoch,
        f"{prefix}_wall_time": point.wall_time,
    }
