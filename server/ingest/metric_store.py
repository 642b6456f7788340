"""Writes a batch's metric points into blocks, and keeps both rollup tiers and every series'
summary exact, inside the batch's transaction. The same statements and the same Python on
SQLite and PostgreSQL; PostgreSQL reads several series' rows in one statement each.

For each series, the batch's points fall in some fine (ROLLUP_WIDTH-step) buckets; every
stored block overlapping them is read, plus the block just before them when it is not full
(so appends fill it instead of leaving small blocks behind). Blocks that share a bucket form a
group; each group's stored points and the batch's are merged (the greater (attempt, seq) wins
a step), cut again into blocks from the group's first step, and written where they changed.
A group holds every stored point of the buckets it touches, so those buckets' rollups are
computed from it; the coarse buckets from the fine rollups under them; the summary, on an
append, from the old summary and the new coarse buckets, and after a rewrite from all of the
series' coarse buckets.

The caller holds the runs' usage rows locked (see writer.py), so no other ingester changes
these series meanwhile.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from server.ingest.metric_rows import MetricRows, SeriesPoints
from server.metrics.blocks import BLOCK_POINTS, decode_block, encode_block
from server.metrics.columns import Int64s, PointColumns, block_slices, merge
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH
from server.metrics.rollups import (
    FINE_PER_COARSE,
    UPSERT_COARSE,
    UPSERT_FINE,
    WHOLE_SERIES,
    Rollups,
    coarser,
    point_rollups,
    rollups_by_series,
)


@dataclass
class StoredSeries:
    id: int
    run_id: str
    key: str
    points: int
    first_step: int | None
    last_step: int | None
    last_value: float | None
    min_step: int | None
    min_value: float | None
    max_step: int | None
    max_value: float | None


@dataclass
class MetricsWritten:
    points: int = 0
    """Points of the batch stored (new or rewritten steps)."""
    refused: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    """Per run: points not stored and the keys they had, past the run's metric key limit."""


@dataclass
class _Block:
    first_step: int
    last_step: int
    points: int
    data: bytes


@dataclass
class _Writes:
    blocks: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    fine: list[dict[str, Any]] = field(default_factory=list)
    coarse: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)


_SERIES_COLUMNS = (
    "id, run_id, key, points, first_step, last_step, last_value, min_step, min_value,"
    " max_step, max_value"
)

_INSERT_SERIES = text(
    "INSERT INTO metric_series (run_id, key, points) VALUES (:run_id, :key, 0) "
    "ON CONFLICT (run_id, key) DO NOTHING"
)

# The blocks overlapping [lo, hi], and the one before them if it is not full.
_BLOCKS_OF_RANGE = """
    SELECT b.first_step, b.last_step, b.points, b.data FROM metric_blocks b
    WHERE b.series_id = {sid} AND b.first_step <= {hi} AND b.first_step >= COALESCE(
        (SELECT max(p.first_step) FROM metric_blocks p
         WHERE p.series_id = {sid} AND p.first_step <= {lo}), {lo})
      AND (b.last_step >= {lo} OR b.points < :capacity)
"""
_SELECT_BLOCKS = text(
    _BLOCKS_OF_RANGE.format(sid=":sid", lo=":lo", hi=":hi") + " ORDER BY b.first_step"
)
_PG_SELECT_BLOCKS = text(
    "SELECT t.sid, b.first_step, b.last_step, b.points, b.data"
    " FROM unnest(CAST(:sids AS bigint[]), CAST(:los AS bigint[]), CAST(:his AS bigint[]))"
    " AS t(sid, lo, hi) CROSS JOIN LATERAL ("
    + _BLOCKS_OF_RANGE.format(sid="t.sid", lo="t.lo", hi="t.hi")
    + ") b ORDER BY t.sid, b.first_step"
)
_UPSERT_BLOCK = text(
    "INSERT INTO metric_blocks (series_id, first_step, last_step, points, last_attempt,"
    " last_seq, data) VALUES (:series_id, :first_step, :last_step, :points, :last_attempt,"
    " :last_seq, :data) ON CONFLICT (series_id, first_step) DO UPDATE SET"
    " last_step = excluded.last_step, points = excluded.points,"
    " last_attempt = excluded.last_attempt, last_seq = excluded.last_seq, data = excluded.data"
)
_DELETE_BLOCK = text(
    "DELETE FROM metric_blocks WHERE series_id = :series_id AND first_step = :first_step"
)
_UPDATE_SUMMARY = text(
    "UPDATE metric_series SET points = :points, first_step = :first_step,"
    " last_step = :last_step, last_value = :last_value, min_step = :min_step,"
    " min_value = :min_value, max_step = :max_step, max_value = :max_value WHERE id = :id"
)


def write_metrics(conn: Connection, rows: MetricRows, max_keys_per_run: int) -> MetricsWritten:
    """Stores `rows` (of runs that exist and whose usage rows the caller holds)."""
    written = MetricsWritten()
    if not rows.series:
        return written
    known = series_of_runs(conn, rows.run_ids)
    accepted = _within_key_limit(rows.series, known, max_keys_per_run, written)
    new = [s for s in accepted if (s.run_id, s.key) not in known]
    if new:
        conn.execute(_INSERT_SERIES, [{"run_id": s.run_id, "key": s.key} for s in new])
        known.update(series_of_runs(conn, {s.run_id for s in new}))
    work = [(known[(s.run_id, s.key)], s.points) for s in accepted]
    ranges = {series.id: _touched_ranges(points.step, ROLLUP_WIDTH) for series, points in work}
    blocks = _stored_blocks(conn, ranges)
    writes = _Writes()
    fresh_fine: dict[int, Rollups] = {}
    inserted: dict[int, int] = {}
    tails: dict[int, PointColumns] = {}
    for series, points in work:
        fine, inserted[series.id], tails[series.id] = _rewrite_blocks(
            series.id, points, ranges[series.id], blocks.get(series.id, []), writes
        )
        fresh_fine[series.id] = fine
        writes.fine += fine.params(series.id)
    coarse_ranges = {
        sid: [
            (lo * FINE_PER_COARSE, (hi + 1) * FINE_PER_COARSE - 1)
            for lo, hi in _runs(np.unique(fine.bucket // FINE_PER_COARSE))
        ]
        for sid, fine in fresh_fine.items()
    }
    stored_fine = rollups_by_series(conn, "metric_rollups", coarse_ranges)
    fresh_coarse: dict[int, Rollups] = {}
    for sid, fine in fresh_fine.items():
        under = stored_fine.get(sid, fine).replaced_by(fine)
        fresh_coarse[sid] = coarser(under, COARSE_ROLLUP_WIDTH)
        writes.coarse += fresh_coarse[sid].params(sid)
    rewritten = {
        series.id
        for series, points in work
        if series.points and series.last_step is not None and points.step[0] <= series.last_step
    }
    stored_coarse = rollups_by_series(
        conn, "metric_coarse_rollups", {sid: [(0, WHOLE_SERIES)] for sid in rewritten}
    )
    for series, points in work:
        if series.id in rewritten:
            every = stored_coarse.get(series.id, fresh_coarse[series.id])
            basis = every.replaced_by(fresh_coarse[series.id])
        else:
            basis = _summary_rollup(series, fresh_coarse[series.id])
        writes.summaries.append(
            _summary(series, points, inserted[series.id], tails[series.id], basis)
        )
        written.points += len(points)
    _apply(conn, writes)
    return written


def series_of_runs(conn: Connection, run_ids: Iterable[str]) -> dict[tuple[str, str], StoredSeries]:
    runs = sorted(set(run_ids))
    if not runs:
        return {}
    found: dict[tuple[str, str], StoredSeries] = {}
    for begin in range(0, len(runs), 500):
        chunk = runs[begin : begin + 500]
        names = ", ".join(f":r{i}" for i in range(len(chunk)))
        result = conn.execute(
            text(f"SELECT {_SERIES_COLUMNS} FROM metric_series WHERE run_id IN ({names})"),
            {f"r{i}": run for i, run in enumerate(chunk)},
        )
        for row in result:
            found[(row.run_id, row.key)] = StoredSeries(*row)
    return found


def _within_key_limit(
    series: Sequence[SeriesPoints],
    known: dict[tuple[str, str], StoredSeries],
    max_keys: int,
    written: MetricsWritten,
) -> list[SeriesPoints]:
    """The series to store: every known one, and new ones while their run has room (in the
    order the batch first names them)."""
    keys_of: dict[str, int] = {}
    for run_id, _ in known:
        keys_of[run_id] = keys_of.get(run_id, 0) + 1
    accepted = []
    for s in series:
        if (s.run_id, s.key) in known:
            accepted.append(s)
        elif keys_of.get(s.run_id, 0) < max_keys:
            keys_of[s.run_id] = keys_of.get(s.run_id, 0) + 1
            accepted.append(s)
        else:
            points, keys = written.refused.get(s.run_id, (0, []))
            written.refused[s.run_id] = (points + len(s.points), [*keys, s.key])
    return accepted


def _runs(sorted_unique: Int64s) -> list[tuple[int, int]]:
    """Consecutive runs of integers as inclusive (first, last) pairs."""
    if not len(sorted_unique):
        return []
    cuts = np.flatnonzero(np.diff(sorted_unique) > 1)
    firsts = np.r_[sorted_unique[0], sorted_unique[cuts + 1]]
    lasts = np.r_[sorted_unique[cuts], sorted_unique[-1]]
    return [(int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)]


def _touched_ranges(steps: Int64s, width: int) -> list[tuple[int, int]]:
    """The inclusive step ranges of the runs of `width`-step buckets the steps fall in."""
    return [(lo * width, (hi + 1) * width - 1) for lo, hi in _runs(np.unique(steps // width))]


def _stored_blocks(
    conn: Connection, ranges: dict[int, list[tuple[int, int]]]
) -> dict[int, list[_Block]]:
    """Per series, the stored blocks the ranges need (see _BLOCKS_OF_RANGE), each once."""
    rows: list[Any] = []
    if conn.dialect.name == "postgresql":
        pairs = [(sid, lo, hi) for sid, found in ranges.items() for lo, hi in found]
        rows = list(
            conn.execute(
                _PG_SELECT_BLOCKS,
                {
                    "sids": [p[0] for p in pairs],
                    "los": [p[1] for p in pairs],
                    "his": [p[2] for p in pairs],
                    "capacity": BLOCK_POINTS,
                },
            )
        )
    else:
        for sid, found in ranges.items():
            for lo, hi in found:
                params = {"sid": sid, "lo": lo, "hi": hi, "capacity": BLOCK_POINTS}
                rows += [(sid, *row) for row in conn.execute(_SELECT_BLOCKS, params)]
    blocks: dict[int, dict[int, _Block]] = {}
    for sid, first_step, last_step, points, data in rows:
        blocks.setdefault(int(sid), {})[first_step] = _Block(
            first_step, last_step, points, bytes(data)
        )
    return {sid: [found[f] for f in sorted(found)] for sid, found in blocks.items()}


@dataclass
class _Group:
    lo: int
    hi: int
    blocks: dict[int, _Block] = field(default_factory=dict)


def _groups(ranges: list[tuple[int, int]], blocks: list[_Block]) -> list[_Group]:
    """The touched ranges joined wherever one stored block reaches into two of them, each group
    with the stored blocks it rewrites. A block belongs to the first range it overlaps, or (a
    not-full block in a gap) to the first range after it."""
    los = np.array([lo for lo, _ in ranges], dtype=np.int64)
    his = np.array([hi for _, hi in ranges], dtype=np.int64)
    joins_previous = [False] * len(ranges)
    owned: list[dict[int, _Block]] = [{} for _ in ranges]
    for block in blocks:
        first = int(np.searchsorted(his, block.first_step))  # first range ending at or after it
        last = int(np.searchsorted(los, block.last_step, side="right")) - 1
        for joined in range(first + 1, last + 1):
            joins_previous[joined] = True
        owned[min(first, len(ranges) - 1)][block.first_step] = block
    groups: list[_Group] = []
    for (lo, hi), joins, mine in zip(ranges, joins_previous, owned, strict=True):
        if joins and groups:
            groups[-1].hi = hi
            groups[-1].blocks.update(mine)
        else:
            groups.append(_Group(lo, hi, dict(mine)))
    return groups


def _rewrite_blocks(
    sid: int,
    points: PointColumns,
    ranges: list[tuple[int, int]],
    found: list[_Block],
    writes: _Writes,
) -> tuple[Rollups, int, PointColumns]:
    """Merges `points` into the series' stored blocks. Returns the fine rollups of the touched
    buckets, how many steps are new, and the last group's merged points."""
    fine_parts: list[Rollups] = []
    inserted = 0
    tail = PointColumns.empty()
    for group in _groups(ranges, found):
        ordered = [group.blocks[first] for first in sorted(group.blocks)]
        stored = PointColumns.concat([decode_block(b.data, b.first_step) for b in ordered])
        fresh = points.between(group.lo, group.hi)
        merged, new_steps = merge(stored, fresh)
        inserted += new_steps
        tail = merged
        kept: set[int] = set()
        for piece in block_slices(len(merged), BLOCK_POINTS):
            chunk = merged.take(piece)
            first = int(chunk.step[0])
            data = encode_block(chunk)
            kept.add(first)
            old = group.blocks.get(first)
            if old is not None and old.data == data:
                continue
            newest = np.lexsort((chunk.seq, chunk.attempt))[-1]
            writes.blocks.append(
                {
                    "series_id": sid,
                    "first_step": first,
                    "last_step": int(chunk.step[-1]),
                    "points": len(chunk),
                    "last_attempt": int(chunk.attempt[newest]),
                    "last_seq": int(chunk.seq[newest]),
                    "data": data,
                }
            )
        writes.deleted += [
            {"series_id": sid, "first_step": first} for first in group.blocks if first not in kept
        ]
        buckets = np.unique(fresh.step // ROLLUP_WIDTH)
        in_touched = np.isin(merged.step // ROLLUP_WIDTH, buckets)
        fine_parts.append(point_rollups(merged.take(in_touched), ROLLUP_WIDTH))
    fine = fine_parts[0]
    for part in fine_parts[1:]:
        fine = fine.replaced_by(part)
    return fine, inserted, tail


def _summary_rollup(series: StoredSeries, coarse: Rollups) -> Rollups:
    """The old summary as one more rollup row beside the new coarse buckets (an append: no
    stored point changed, so the old extremes still stand for everything before)."""
    if not series.points or series.min_step is None or series.max_step is None:
        return coarse
    nan = float("nan")
    old = Rollups(
        bucket=np.array([-1], np.int64),
        last_step=np.array([series.last_step], np.int64),
        min_step=np.array([series.min_step], np.int64),
        min_value=np.array([nan if series.min_value is None else series.min_value]),
        min_epoch=np.array([-1], np.int64),
        min_wall_time=np.array([nan]),
        max_step=np.array([series.max_step], np.int64),
        max_value=np.array([nan if series.max_value is None else series.max_value]),
        max_epoch=np.array([-1], np.int64),
        max_wall_time=np.array([nan]),
    )
    parts = [old, coarse]
    return Rollups(*(np.concatenate([getattr(p, f) for p in parts]) for f in _ROLLUP_FIELDS))


_ROLLUP_FIELDS = tuple(Rollups.__dataclass_fields__)


def _summary(
    series: StoredSeries,
    points: PointColumns,
    inserted: int,
    tail: PointColumns,
    basis: Rollups,
) -> dict[str, Any]:
    whole = coarser(basis, WHOLE_SERIES)
    first = int(points.step[0])
    last_step, last_value = series.last_step, series.last_value
    if last_step is None or int(tail.step[-1]) >= last_step:
        last_step, last_value = int(tail.step[-1]), float(tail.value[-1])
    return {
        "id": series.id,
        "points": series.points + inserted,
        "first_step": first if series.first_step is None else min(series.first_step, first),
        "last_step": last_step,
        "last_value": last_value,
        "min_step": int(whole.min_step[0]),
        "min_value": float(whole.min_value[0]),
        "max_step": int(whole.max_step[0]),
        "max_value": float(whole.max_value[0]),
    }


def _apply(conn: Connection, writes: _Writes) -> None:
    if conn.dialect.name == "postgresql":
        _apply_as_arrays(conn, writes)
        return
    if writes.deleted:
        conn.execute(_DELETE_BLOCK, writes.deleted)
    if writes.blocks:
        conn.execute(_UPSERT_BLOCK, writes.blocks)
    if writes.fine:
        conn.execute(UPSERT_FINE, writes.fine)
    if writes.coarse:
        conn.execute(UPSERT_COARSE, writes.coarse)
    if writes.summaries:
        conn.execute(_UPDATE_SUMMARY, writes.summaries)


_BLOCK_TYPES = {
    "series_id": "bigint",
    "first_step": "bigint",
    "last_step": "bigint",
    "points": "integer",
    "last_attempt": "integer",
    "last_seq": "bigint",
    "data": "bytea",
}
_ROLLUP_TYPES = {
    "series_id": "bigint",
    "bucket": "bigint",
    "last_step": "bigint",
    "min_step": "bigint",
    "min_value": "float8",
    "min_epoch": "integer",
    "min_wall_time": "float8",
    "max_step": "bigint",
    "max_value": "float8",
    "max_epoch": "integer",
    "max_wall_time": "float8",
}


def _unnest_upsert(table: str, types: dict[str, str], key: tuple[str, ...]) -> Any:
    """An upsert of many rows given as one array per column: one statement for a batch's
    thousands of blocks or rollups, instead of a statement (and its parameters' Python) per
    row, which cost the ingester more CPU than everything else it does per point."""
    names = list(types)
    # bytea travels as hex text (see _as_columns), decoded here.
    arrays = ", ".join(f"CAST(:{c} AS {'text' if t == 'bytea' else t}[])" for c, t in types.items())
    picked = ", ".join(
        f"decode(u.{c}, 'hex')" if t == "bytea" else f"u.{c}" for c, t in types.items()
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in key)
    return text(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {picked}"
        f" FROM unnest({arrays}) AS u({', '.join(names)})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


_PG_UPSERT_BLOCKS = _unnest_upsert("metric_blocks", _BLOCK_TYPES, ("series_id", "first_step"))
_PG_UPSERT_FINE = _unnest_upsert("metric_rollups", _ROLLUP_TYPES, ("series_id", "bucket"))
_PG_UPSERT_COARSE = _unnest_upsert("metric_coarse_rollups", _ROLLUP_TYPES, ("series_id", "bucket"))
_PG_DELETE_BLOCKS = text(
    "DELETE FROM metric_blocks b USING unnest(CAST(:series_id AS bigint[]),"
    " CAST(:first_step AS bigint[])) AS d(series_id, first_step)"
    " WHERE b.series_id = d.series_id AND b.first_step = d.first_step"
)


def _as_columns(rows: list[dict[str, Any]], names: Iterable[str]) -> dict[str, Any]:
    """One parameter per column, each as one array literal string: psycopg's own array
    adapter spends a regular expression per element (and escapes bytea), more than the rest of
    a row costs. Blocks' bytes go as hex, which needs no quoting."""
    return {
        name: "{" + ",".join(r[name].hex() for r in rows) + "}"
        if name == "data"
        else _array_literal(rows, name)
        for name in names
    }


def _array_literal(rows: list[dict[str, Any]], name: str) -> str:
    # repr of a float reads back as the same float8 (nan, inf and -inf included); of an int,
    # as itself.
    return "{" + ",".join("NULL" if r[name] is None else repr(r[name]) for r in rows) + "}"


def _apply_as_arrays(conn: Connection, writes: _Writes) -> None:
    """The same writes as `_apply`, each table's rows in one statement (PostgreSQL)."""
    if writes.deleted:
        conn.execute(_PG_DELETE_BLOCKS, _as_columns(writes.deleted, ("series_id", "first_step")))
    if writes.blocks:
        conn.execute(_PG_UPSERT_BLOCKS, _as_columns(writes.blocks, _BLOCK_TYPES))
    if writes.fine:
        conn.execute(_PG_UPSERT_FINE, _as_columns(writes.fine, _ROLLUP_TYPES))
    if writes.coarse:
        conn.execute(_PG_UPSERT_COARSE, _as_columns(writes.coarse, _ROLLUP_TYPES))
    if writes.summaries:
        conn.execute(_UPDATE_SUMMARY, writes.summaries)
