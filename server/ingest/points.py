"""Bulk upserts of metric points and log lines, with a fast path per backend.

PostgreSQL gets one `INSERT ... SELECT FROM unnest(arrays)` statement per table (a single
round trip for thousands of rows); SQLite gets `executemany`, which is already in-process.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from server.ingest.metric_rows import PG_POINT_TYPES, MetricRows, array_literal
from server.logs.models import LogLine
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH, MetricPointRow

_POINT_COLUMNS = ("series_id", "step", "epoch", "value", "wall_time", "attempt", "seq")
_PG_POINT_TYPES = ("bigint", "bigint", "integer", "float8", "float8", "integer", "bigint")

# A point written by an older attempt never replaces one from a newer attempt: a run resumed
# from a checkpoint re-emits later steps, and only the new run's values describe it.
_POINT_CONFLICT = (
    " ON CONFLICT (series_id, step) DO UPDATE SET epoch = excluded.epoch,"
    " value = excluded.value, wall_time = excluded.wall_time, attempt = excluded.attempt,"
    " seq = excluded.seq WHERE excluded.attempt >= metric_points.attempt"
)

_LOG_COLUMNS = ("run_id", "attempt", "seq", "line_no", "stream", "text", "ts")
_PG_LOG_TYPES = ("varchar", "integer", "integer", "integer", "varchar", "text", "timestamptz")
_LOG_CONFLICT = " ON CONFLICT (run_id, attempt, seq, line_no) DO NOTHING"
_TABLES = {"metric_points": MetricPointRow.__table__, "log_lines": LogLine.__table__}


def upsert_points(conn: Connection, rows: MetricRows, series_ids: Sequence[int]) -> None:
    """Stores `rows`, whose series index i names the series `series_ids[i]`.
    On PostgreSQL this also refreshes the rollups (fine, then coarse) of every bucket the rows
    touch."""
    if not len(rows):
        return
    if conn.dialect.name != "postgresql":
        sids = [series_ids[i] for i in rows.columns[0]]
        _bulk_insert(
            conn,
            "metric_points",
            _POINT_COLUMNS,
            _PG_POINT_TYPES,
            (sids, *rows.columns[1:]),
            _POINT_CONFLICT,
        )
        return
    # Usually built already, by the reader thread (see server.ingest.metric_rows).
    params: dict[str, Any] = dict(rows.pg_arrays)
    params["sidmap"] = "{" + ",".join(map(str, series_ids)) + "}"
    params["width"] = ROLLUP_WIDTH
    rewritten = conn.execute(_PG_UPSERT_POINTS_AND_APPENDED_ROLLUPS, params).all()
    if rewritten:
        sids_literal = "{" + ",".join(str(r.series_id) for r in rewritten) + "}"
        firsts = "{" + ",".join(str(r.bucket * ROLLUP_WIDTH) for r in rewritten) + "}"
        conn.execute(
            _PG_REFRESH_ROLLUPS, {"sids": sids_literal, "steps": firsts, "width": ROLLUP_WIDTH}
        )
    conn.execute(
        _PG_REFRESH_COARSE_ROLLUPS,
        {
            "idx": params["c0"],
            "sidmap": params["sidmap"],
            "steps": params["c1"],
            "width": ROLLUP_WIDTH,
            "coarse": COARSE_ROLLUP_WIDTH,
        },
    )


# The rows, with each series index replaced by its id (PostgreSQL arrays count from 1).
_POINTS_FROM_ARRAYS = (
    "SELECT (CAST(:sidmap AS bigint[]))[t.i + 1], t.step, t.epoch, t.value, t.wall_time,"
    " t.attempt, t.seq FROM unnest("
    + ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(PG_POINT_TYPES))
    + ") AS t(i, step, epoch, value, wall_time, attempt, seq)"
)

# Upserts the points and, in the same statement, brings the rollup of every bucket that only
# gained steps after its last known one (the normal, appending case) up to date from the
# written rows and the old rollup, so the stored points are not read back. Returns the other
# touched buckets (a step at or before their last step was rewritten): those are recomputed
# from the stored points by _PG_REFRESH_ROLLUPS. A statement's CTEs all see the table as it
# was before it, so `old` is the rollup before this batch. Same rules as
# `server.metrics.rollups.extremes`: ties keep the earlier step, a real value beats NULL.
_PG_UPSERT_POINTS_AND_APPENDED_ROLLUPS = text(
    f"""
WITH written AS (
    INSERT INTO metric_points ({", ".join(_POINT_COLUMNS)}) {_POINTS_FROM_ARRAYS}
    {_POINT_CONFLICT}
    RETURNING series_id, step, epoch, value, wall_time
), touched AS (
    SELECT series_id, step / :width AS bucket, min(step) AS first_new, max(step) AS last_new,
        min(ARRAY[step, epoch, wall_time]) AS first_point,
        min(ARRAY[value, step, epoch, wall_time]) FILTER (WHERE value IS NOT NULL) AS lo,
        max(ARRAY[value, -step, epoch, wall_time]) FILTER (WHERE value IS NOT NULL) AS hi
    FROM written GROUP BY 1, 2
), appended AS (
    SELECT t.series_id, t.bucket, GREATEST(old.last_step, t.last_new) AS last_step,
        LEAST(CASE WHEN old.min_value IS NOT NULL THEN
            ARRAY[old.min_value, old.min_step, old.min_epoch, old.min_wall_time] END, t.lo) AS lo,
        GREATEST(CASE WHEN old.max_value IS NOT NULL THEN
            ARRAY[old.max_value, -old.max_step, old.max_epoch, old.max_wall_time] END, t.hi)
            AS hi,
        -- No real value in the bucket at all: its first point stands for both extremes.
        COALESCE(CASE WHEN old.bucket IS NOT NULL THEN
            ARRAY[old.min_step, old.min_epoch, old.min_wall_time]::float8[] END, t.first_point)
            AS first_point
    FROM touched t LEFT JOIN metric_rollups old
        ON old.series_id = t.series_id AND old.bucket = t.bucket
    WHERE old.bucket IS NULL OR old.last_step < t.first_new
), stored AS (
    INSERT INTO metric_rollups (series_id, bucket, last_step, min_step, min_value, min_epoch,
        min_wall_time, max_step, max_value, max_epoch, max_wall_time)
    SELECT series_id, bucket, last_step,
        CASE WHEN lo IS NULL THEN first_point[1] ELSE lo[2] END::bigint, lo[1],
        CASE WHEN lo IS NULL THEN first_point[2] ELSE lo[3] END::integer,
        CASE WHEN lo IS NULL THEN first_point[3] ELSE lo[4] END,
        CASE WHEN hi IS NULL THEN first_point[1] ELSE -hi[2] END::bigint, hi[1],
        CASE WHEN hi IS NULL THEN first_point[2] ELSE hi[3] END::integer,
        CASE WHEN hi IS NULL THEN first_point[3] ELSE hi[4] END
    FROM appended
    ON CONFLICT (series_id, bucket) DO UPDATE SET last_step = excluded.last_step,
        min_step = excluded.min_step, min_value = excluded.min_value,
        min_epoch = excluded.min_epoch, min_wall_time = excluded.min_wall_time,
        max_step = excluded.max_step, max_value = excluded.max_value,
        max_epoch = excluded.max_epoch, max_wall_time = excluded.max_wall_time
    RETURNING 1
)
SELECT t.series_id, t.bucket FROM touched t
JOIN metric_rollups old ON old.series_id = t.series_id AND old.bucket = t.bucket
WHERE old.last_step >= t.first_new
"""
)


# Recomputes each touched bucket's rollup from the stored points, inside PostgreSQL: always
# right (appends, rewrites, stale attempts alike) and no per-point work in Python. Ties keep
# the earlier step, and a real value beats NULL, as `server.metrics.rollups.extremes` does.
_PG_REFRESH_ROLLUPS = text(
    """
WITH touched AS (
    SELECT DISTINCT series_id, step / :width AS bucket
    FROM unnest(CAST(:sids AS bigint[]), CAST(:steps AS bigint[])) AS t(series_id, step)
), agg AS (
    SELECT t.series_id, t.bucket, max(p.step) AS last_step, min(p.step) AS first_step,
        min(ARRAY[p.value, p.step]) FILTER (WHERE p.value IS NOT NULL) AS lo,
        max(ARRAY[p.value, -p.step]) FILTER (WHERE p.value IS NOT NULL) AS hi
    FROM touched t JOIN metric_points p ON p.series_id = t.series_id
     AND p.step >= t.bucket * :width AND p.step < (t.bucket + 1) * :width
    GROUP BY t.series_id, t.bucket
)
INSERT INTO metric_rollups (series_id, bucket, last_step, min_step, min_value, min_epoch,
    min_wall_time, max_step, max_value, max_epoch, max_wall_time)
SELECT agg.series_id, agg.bucket, agg.last_step, lo.step, lo.value, lo.epoch, lo.wall_time,
    hi.step, hi.value, hi.epoch, hi.wall_time
FROM agg
JOIN metric_points lo ON lo.series_id = agg.series_id
    AND lo.step = COALESCE(agg.lo[2]::bigint, agg.first_step)
JOIN metric_points hi ON hi.series_id = agg.series_id
    AND hi.step = COALESCE(-agg.hi[2]::bigint, agg.first_step)
ON CONFLICT (series_id, bucket) DO UPDATE SET last_step = excluded.last_step,
    min_step = excluded.min_step, min_value = excluded.min_value,
    min_epoch = excluded.min_epoch, min_wall_time = excluded.min_wall_time,
    max_step = excluded.max_step, max_value = excluded.max_value,
    max_epoch = excluded.max_epoch, max_wall_time = excluded.max_wall_time
"""
)

# Each touched coarse bucket from the fine rollups under it (just refreshed above): the min of
# the mins and the max of the maxes, ties to the earlier step, a real value beating NULL. With
# no real value at all, the bucket's first step stands for both (the fine rollup holding that
# step has it as its min_step and its max_step).
_PG_REFRESH_COARSE_ROLLUPS = text(
    """
WITH touched AS (
    SELECT DISTINCT (CAST(:sidmap AS bigint[]))[t.i + 1] AS series_id, t.step / :coarse AS bucket
    FROM unnest(CAST(:idx AS integer[]), CAST(:steps AS bigint[])) AS t(i, step)
), agg AS (
    SELECT t.series_id, t.bucket, max(r.last_step) AS last_step, min(r.min_step) AS first_step,
        min(ARRAY[r.min_value, r.min_step]) FILTER (WHERE r.min_value IS NOT NULL) AS lo,
        max(ARRAY[r.max_value, -r.max_step]) FILTER (WHERE r.max_value IS NOT NULL) AS hi
    FROM touched t JOIN metric_rollups r ON r.series_id = t.series_id
     AND r.bucket >= t.bucket * (:coarse / :width)
     AND r.bucket < (t.bucket + 1) * (:coarse / :width)
    GROUP BY t.series_id, t.bucket
), picked AS (
    SELECT series_id, bucket, last_step, COALESCE(lo[2]::bigint, first_step) AS lo_step,
        COALESCE(-hi[2]::bigint, first_step) AS hi_step
    FROM agg
)
INSERT INTO metric_coarse_rollups (series_id, bucket, last_step, min_step, min_value,
    min_epoch, min_wall_time, max_step, max_value, max_epoch, max_wall_time)
SELECT picked.series_id, picked.bucket, picked.last_step, lo.min_step, lo.min_value,
    lo.min_epoch, lo.min_wall_time, hi.max_step, hi.max_value, hi.max_epoch, hi.max_wall_time
FROM picked
JOIN metric_rollups lo ON lo.series_id = picked.series_id
    AND lo.bucket = picked.lo_step / :width AND lo.min_step = picked.lo_step
JOIN metric_rollups hi ON hi.series_id = picked.series_id
    AND hi.bucket = picked.hi_step / :width AND hi.max_step = picked.hi_step
ON CONFLICT (series_id, bucket) DO UPDATE SET last_step = excluded.last_step,
    min_step = excluded.min_step, min_value = excluded.min_value,
    min_epoch = excluded.min_epoch, min_wall_time = excluded.min_wall_time,
    max_step = excluded.max_step, max_value = excluded.max_value,
    max_epoch = excluded.max_epoch, max_wall_time = excluded.max_wall_time
"""
)


def insert_log_lines(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows are tuples in `_LOG_COLUMNS` order; lines already stored are skipped."""
    if rows:
        columns = [list(column) for column in zip(*rows, strict=True)]
        _bulk_insert(conn, "log_lines", _LOG_COLUMNS, _PG_LOG_TYPES, columns, _LOG_CONFLICT)


def _bulk_insert(
    conn: Connection,
    table: str,
    column_names: Sequence[str],
    pg_types: Sequence[str],
    columns: Sequence[Sequence[Any]],
    conflict: str,
) -> dict[str, str] | None:
    """Inserts the rows the columns make; on PostgreSQL returns the array literals it sent, by
    parameter name."""
    if not columns or not columns[0]:
        return None
    names = ", ".join(column_names)
    if conn.dialect.name == "postgresql":
        # Each column goes as one array literal, built with str.join: psycopg's per-element
        # list adaptation costs more than the whole insert on the server.
        arrays = ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(pg_types))
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}){conflict}"
        params = {f"c{i}": array_literal(column, pg_types[i]) for i, column in enumerate(columns)}
        conn.execute(text(sql), params)
        return params
    # Through the table's column types, so SQLite stores timestamps the way the ORM reads them.
    placeholders = ", ".join(f":{c}" for c in column_names)
    statement = text(f"INSERT INTO {table} ({names}) VALUES ({placeholders}){conflict}")
    statement = statement.bindparams(
        *(bindparam(c, type_=_TABLES[table].c[c].type) for c in column_names)
    )
    conn.execute(
        statement, [dict(zip(column_names, row, strict=True)) for row in zip(*columns, strict=True)]
    )
    return None
