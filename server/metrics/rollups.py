"""Rollups: the min and max point of each bucket of a series, in two tiers (ROLLUP_WIDTH and
COARSE_ROLLUP_WIDTH steps), and a series' summary, which is one bucket as wide as the series.

Pure functions over numpy columns. The ingester computes a touched fine bucket from all of
its stored points (it holds them: they are in the blocks it rewrites), a coarse bucket from the
fine rollups under it, and a summary from the coarse rollups, so every tier always equals a
brute-force computation over the stored points (`extremes`, the rule in one place).

SQLite has no NaN: a NaN it is given comes back as NULL, so NULL in a value column reads as NaN
on both backends.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from server.metrics.columns import NO_EPOCH, Float64s, Int64s, PointColumns, bucket_extremes
from server.metrics.downsample import Point
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH

FINE_PER_COARSE = COARSE_ROLLUP_WIDTH // ROLLUP_WIDTH
WHOLE_SERIES = 2**62
"""A bucket width that puts a whole series in one bucket (its summary)."""

COLUMNS = (
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


def extremes(points: Sequence[Point]) -> tuple[Point, Point]:
    """The min and max point of a step-sorted bucket: ties keep the earlier step, any value
    beats NaN (or a missing value), and with no value at all the first point stands for both."""
    real = [p for p in points if p.value is not None and not math.isnan(p.value)]
    if not real:
        return points[0], points[0]
    return min(real, key=_value), max(real, key=_value)


def _value(point: Point) -> float:
    assert point.value is not None
    return point.value


@dataclass(frozen=True)
class Rollups:
    """Rows of one tier of one series, as columns, sorted by bucket."""

    bucket: Int64s
    last_step: Int64s
    min_step: Int64s
    min_value: Float64s
    min_epoch: Int64s
    min_wall_time: Float64s
    max_step: Int64s
    max_value: Float64s
    max_epoch: Int64s
    max_wall_time: Float64s

    def __len__(self) -> int:
        return len(self.bucket)

    @staticmethod
    def from_rows(rows: Iterable[Any]) -> "Rollups":
        """From result rows with the tier's columns (NULL values read as NaN)."""
        listed = list(rows)
        return Rollups(
            bucket=_ints(r.bucket for r in listed),
            last_step=_ints(r.last_step for r in listed),
            min_step=_ints(r.min_step for r in listed),
            min_value=_floats(r.min_value for r in listed),
            min_epoch=_ints(NO_EPOCH if r.min_epoch is None else r.min_epoch for r in listed),
            min_wall_time=_floats(r.min_wall_time for r in listed),
            max_step=_ints(r.max_step for r in listed),
            max_value=_floats(r.max_value for r in listed),
            max_epoch=_ints(NO_EPOCH if r.max_epoch is None else r.max_epoch for r in listed),
            max_wall_time=_floats(r.max_wall_time for r in listed),
        )

    def replaced_by(self, fresh: "Rollups") -> "Rollups":
        """These rows with `fresh`'s rows in their place (and fresh's new buckets added)."""
        if not len(self):
            return fresh
        if not len(fresh):
            return self
        keep = ~np.isin(self.bucket, fresh.bucket)
        both = [_take(self, keep), fresh]
        merged = Rollups(*(np.concatenate([getattr(p, f) for p in both]) for f in _FIELDS))
        return _take(merged, np.argsort(merged.bucket, kind="stable"))

    def params(self, series_id: int) -> list[dict[str, Any]]:
        """Rows for an executemany upsert."""
        columns = [getattr(self, f).tolist() for f in _FIELDS]
        rows = []
        for values in zip(*columns, strict=True):
            row = dict(zip(_FIELDS, values, strict=True))
            row["series_id"] = series_id
            for side in ("min", "max"):
                if row[f"{side}_epoch"] == NO_EPOCH:
                    row[f"{side}_epoch"] = None
            rows.append(row)
        return rows


_FIELDS = COLUMNS[1:]


def _ints(values: Iterable[Any]) -> Int64s:
    return np.fromiter((int(v) for v in values), dtype=np.int64)


def _floats(values: Iterable[Any]) -> Float64s:
    return np.fromiter((math.nan if v is None else v for v in values), dtype=np.float64)


def _take(rollups: Rollups, index: Any) -> Rollups:
    return Rollups(*(getattr(rollups, f)[index] for f in _FIELDS))


def point_rollups(points: PointColumns, width: int) -> Rollups:
    """Each `width`-step bucket of the (step-sorted) points."""
    found = bucket_extremes(points.step, points.value, width)
    lo, hi = found.low, found.high
    return Rollups(
        found.bucket,
        found.last_step,
        points.step[lo],
        points.value[lo],
        points.epoch[lo],
        points.wall_time[lo],
        points.step[hi],
        points.value[hi],
        points.epoch[hi],
        points.wall_time[hi],
    )


def coarser(rollups: Rollups, width: int) -> Rollups:
    """Buckets `width` steps wide from finer ones (whole multiples of them): the min of the
    mins and the max of the maxes, by the same rules as `extremes` over all their points,
    because each finer min and max already is that bucket's exact extreme."""
    if not len(rollups):
        return rollups
    steps = np.concatenate([rollups.min_step, rollups.max_step])
    order = np.argsort(steps, kind="stable")

    def both(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        return np.concatenate([low, high])[order]

    steps = steps[order]
    values = both(rollups.min_value, rollups.max_value)
    epochs = both(rollups.min_epoch, rollups.max_epoch)
    walls = both(rollups.min_wall_time, rollups.max_wall_time)
    lasts = both(rollups.last_step, rollups.last_step)
    # A finer bucket with no value at all has its first point as both extremes; the coarse
    # bucket's first point is then the first finer bucket's, which sorts first by step.
    found = bucket_extremes(steps, values, width, last_steps=lasts)
    lo, hi = found.low, found.high
    return Rollups(
        found.bucket,
        found.last_step,
        steps[lo],
        values[lo],
        epochs[lo],
        walls[lo],
        steps[hi],
        values[hi],
        epochs[hi],
        walls[hi],
    )


def _upsert(table: str) -> Any:
    return text(
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join(':' + c for c in COLUMNS)}) "
        "ON CONFLICT (series_id, bucket) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
    )


UPSERT_FINE = _upsert("metric_rollups")
UPSERT_COARSE = _upsert("metric_coarse_rollups")


def backfill_coarse_rollups(conn: Connection) -> None:
    """Computes every coarse rollup from the fine ones (migration 0003, which added the tier)."""
    series = [r[0] for r in conn.execute(text("SELECT DISTINCT series_id FROM metric_rollups"))]
    select_fine = text(
        f"SELECT {', '.join(COLUMNS[1:])} FROM metric_rollups "
        "WHERE series_id = :sid ORDER BY bucket"
    )
    for sid in series:
        fine = Rollups.from_rows(conn.execute(select_fine, {"sid": sid}))
        rows = coarser(fine, COARSE_ROLLUP_WIDTH).params(int(sid))
        if rows:
            conn.execute(UPSERT_COARSE, rows)


def rollups_by_series(
    conn: Connection, table: str, wanted: Mapping[int, Sequence[tuple[int, int]]]
) -> dict[int, Rollups]:
    """Stored rows of `table` for each series id's inclusive bucket ranges."""
    select_rows = text(
        f"SELECT series_id, {', '.join(COLUMNS[1:])} FROM {table} "
        "WHERE series_id = :sid AND bucket BETWEEN :lo AND :hi ORDER BY bucket"
    )
    rows: dict[int, list[Any]] = {}
    if conn.dialect.name == "postgresql":
        pairs = [(sid, lo, hi) for sid, ranges in wanted.items() for lo, hi in ranges]
        if pairs:
            result = conn.execute(
                text(
                    f"SELECT r.series_id, {', '.join('r.' + c for c in COLUMNS[1:])} "
                    f"FROM unnest(CAST(:sids AS bigint[]), CAST(:los AS bigint[]),"
                    f" CAST(:his AS bigint[])) AS t(sid, lo, hi) JOIN {table} r"
                    " ON r.series_id = t.sid AND r.bucket BETWEEN t.lo AND t.hi"
                    " ORDER BY r.series_id, r.bucket"
                ),
                {
                    "sids": [p[0] for p in pairs],
                    "los": [p[1] for p in pairs],
                    "his": [p[2] for p in pairs],
                },
            )
            for row in result:
                rows.setdefault(int(row.series_id), []).append(row)
    else:
        for sid, ranges in wanted.items():
            for lo, hi in ranges:
                for row in conn.execute(select_rows, {"sid": sid, "lo": lo, "hi": hi}):
                    rows.setdefault(sid, []).append(row)
    return {sid: Rollups.from_rows(_unique_buckets(found)) for sid, found in rows.items()}


def _unique_buckets(rows: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for row in rows:
        seen[int(row.bucket)] = row
    return [seen[b] for b in sorted(seen)]
