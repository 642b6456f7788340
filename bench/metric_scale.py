"""Metric reads as the store grows, printed as JSON lines (never asserted).

    python bench/metric_scale.py                  # 1M and 100M points (3.5 GB of disk at 100M)
    python bench/metric_scale.py --sizes 1000000  # a quick run
    python bench/metric_scale.py --billion        # also 1B points (~20 GB of disk, ~15 min)

For each size, a fresh PostgreSQL database (created and dropped here) is seeded directly in SQL,
not through the ingester: 10,000 series in 100 runs, one whole block (256 points) per row, in
the block format the ingester writes (deflated; server/metrics/blocks.py), with
the fine and coarse rollups and the summaries the ingester would have kept (the values have a
known shape, a falling trend with one spike per 64-step bucket, so every extreme is known
without reading the points). One series (run 0's `loss`) is 102,400 points at every size; the
rest of the points are spread evenly over the other 9,999. A value depends on its series only
through mod(series id, 7), so each distinct series' blocks (encoded by the ingester's encoder)
and rollups are built once (8 shapes: `_SHAPES`) and PostgreSQL copies them to every series
with INSERT ... SELECT: the same rows as building every series' own. The secondary
indexes are dropped during the copy and built after it; the tables are UNLOGGED (no WAL for a
throwaway database; reads are the same). Then, at each size:

- the downsampled read of that series, through `server.metrics.service.get_series` (the
  function behind GET /runs/{id}/metrics/{key}), p50 over `--queries` reads;
- the run's metric summaries, through `service.run_summary` (GET /runs/{id}/summary: one row
  per metric, however long the run). The runs list itself (GET /runs) carries no metric
  summaries; this is the query that serves them.

Every size is seeded first, each into its own database, and kept until all are read; after a
CHECKPOINT and a sync (so no read races the kernel writing back a seed's gigabytes), the sizes
are read in turn, one query of each per round, so load on the shared machine falls on every
size alike. Each figure is compared with the smallest size's (`vs_smallest`; the target is
within 20 %). Disk and time (measured on the shared two-core machine, load 3.5-4.3,
2026-12-02): 1M points 17.4 MB (17.5 bytes a point) in 4 s; 100M 965 MB (9.65) in 11 s; 1B
8.99 GB (8.99) in 122 s. So --billion needs ~10 GB free for the three databases at once, plus
room for the index builds' sort files (a few GB); the databases are dropped at the end.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

# Runnable as `python bench/metric_scale.py` from a checkout that is not pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

import server.models
from bench.scaffold import emit, scratch_database
from server.db import make_session_factory
from server.experiments.models import Experiment
from server.metrics.blocks import BLOCK_POINTS, encode_block
from server.metrics.columns import PointColumns
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH
from server.metrics.service import get_series, run_summary
from server.projects.models import Project
from server.runs.models import Run
from server.users.models import User

SERIES = 10_000
RUNS = 100
PROBE_POINTS = 25 * COARSE_ROLLUP_WIDTH  # 102,400: a long run's series, read through rollups
TABLES = ("metric_blocks", "metric_rollups", "metric_coarse_rollups", "metric_series")


def _make_runs(session: Session) -> list[str]:
    user = User(email="scale@example.test", name="scale", is_admin=True)
    session.add(user)
    session.flush()
    project = Project(name="scale", created_by=user.id)
    session.add(project)
    session.flush()
    spec = {"name": "scale", "project": "scale", "model": {"entrypoint": "a.b:C"}}
    experiment = Experiment(
        project_id=project.id, owner_id=user.id, name="scale", spec=spec, tags=[]
    )
    session.add(experiment)
    session.flush()
    runs = [
        Run(
            experiment_id=experiment.id,
            project_id=project.id,
            owner_id=user.id,
            state="completed",
            spec=spec,
            params={},
        )
        for _ in range(RUNS)
    ]
    session.add_all(runs)
    session.commit()
    return [r.id for r in runs]


# The points' shape: a falling trend (different per series) plus 1.0 at one step of each 64-step
# bucket (never its 64th). So the min of any step range is its last step that is not a spike
# (scale_low), and its max the spike of its first fine bucket if the range reaches it, else its
# first step (scale_high); a series' max is step 0 (bucket 0's spike is at offset 0).
_FUNCTIONS = f"""
CREATE FUNCTION scale_value(sid bigint, step bigint) RETURNS float8 IMMUTABLE LANGUAGE sql AS $$
  SELECT 2.0 / (1.0 + step * 1e-4) + mod(sid, 7)
       + CASE WHEN mod(step, {ROLLUP_WIDTH}) = mod((step / {ROLLUP_WIDTH}) * 37, {ROLLUP_WIDTH - 1})
              THEN 1.0 ELSE 0.0 END
$$;
CREATE FUNCTION scale_spike(bucket bigint) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT bucket * {ROLLUP_WIDTH} + mod(bucket * 37, {ROLLUP_WIDTH - 1})
$$;
CREATE FUNCTION scale_low(first bigint, last bigint) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT CASE WHEN last = scale_spike(last / {ROLLUP_WIDTH}) AND last > first
              THEN last - 1 ELSE last END
$$;
CREATE FUNCTION scale_high(first bigint, last bigint) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT CASE WHEN scale_spike(first / {ROLLUP_WIDTH}) <= last
              THEN scale_spike(first / {ROLLUP_WIDTH}) ELSE first END
$$;
CREATE FUNCTION scale_wall(step bigint) RETURNS float8 IMMUTABLE LANGUAGE sql AS $$
  SELECT 1.7e9 + step * 0.5
$$;
CREATE TABLE scale_lengths (sid bigint PRIMARY KEY, run_id varchar, key varchar, n bigint);
"""

# A point's value depends on its series only through mod(sid, 7) (scale_value), so every series
# of one length and one residue has the same blocks and rollups, bit for bit: they are built
# once per (residue, length) in template tables (8 of them: 7 residues of the 9,999 equal
# series, and the probe) and then copied to every series. The rows are the same as building
# each series' own; PostgreSQL then spends its time writing them. The block templates are
# encoded by the ingester's own encoder (deflated, as the ingester stores them) from the
# values PostgreSQL computes, so the bytes on disk and the reads' decoding are production's.
_SHAPES = """
CREATE TABLE scale_shapes AS SELECT DISTINCT mod(sid, 7) AS m, n FROM scale_lengths;
CREATE TABLE scale_block_templates (m bigint, len bigint, first bigint, last bigint, n bigint,
                                    data bytea);
"""
_SHAPE_POINTS = """
SELECT h.m, h.n, s, scale_value(h.m, s), scale_wall(s)
FROM scale_shapes h CROSS JOIN LATERAL generate_series(0, h.n - 1) s
ORDER BY h.m, h.n, s
"""


def _block_templates(conn: Connection) -> None:
    rows = conn.execute(text(_SHAPE_POINTS)).all()
    templates = []
    begin = 0
    while begin < len(rows):
        m, n = rows[begin][0], rows[begin][1]
        steps = np.fromiter((r[2] for r in rows[begin : begin + n]), np.int64, n)
        values = np.fromiter((r[3] for r in rows[begin : begin + n]), np.float64, n)
        walls = np.fromiter((r[4] for r in rows[begin : begin + n]), np.float64, n)
        for first in range(0, n, BLOCK_POINTS):
            part = slice(first, min(n, first + BLOCK_POINTS))
            count = part.stop - part.start
            points = PointColumns(
                step=steps[part],
                value=values[part],
                epoch=np.zeros(count, np.int64),
                wall_time=walls[part],
                attempt=np.ones(count, np.int64),
                seq=np.zeros(count, np.int64),
            )
            templates.append(
                {
                    "m": m,
                    "len": n,
                    "first": first,
                    "last": part.stop - 1,
                    "n": count,
                    "data": encode_block(points),
                }
            )
        begin += n
    conn.execute(
        text(
            "INSERT INTO scale_block_templates (m, len, first, last, n, data)"
            " VALUES (:m, :len, :first, :last, :n, :data)"
        ),
        templates,
    )


_SEED_BLOCKS = """
INSERT INTO metric_blocks (series_id, first_step, last_step, points, last_attempt, last_seq, data)
SELECT l.sid, t.first, t.last, t.n, 1, 0, t.data
FROM scale_lengths l
JOIN scale_block_templates t ON t.m = mod(l.sid, 7) AND t.len = l.n
WHERE l.sid BETWEEN :lo AND :hi
ORDER BY l.sid, t.first
"""


def _rollup_templates(table: str, width: int) -> str:
    """One rollup tier's rows per (residue, length), extremes by scale_low and scale_high."""
    return f"""
CREATE TABLE {table}_templates AS
SELECT h.m, h.n AS len, c AS bucket, e.last, e.low, scale_value(h.m, e.low) AS low_value,
       scale_wall(e.low) AS low_wall, e.high, scale_value(h.m, e.high) AS high_value,
       scale_wall(e.high) AS high_wall
FROM scale_shapes h
CROSS JOIN LATERAL generate_series(0, (h.n - 1) / {width}) c
CROSS JOIN LATERAL (SELECT c * {width} AS first, least(c * {width} + {width - 1}, h.n - 1) AS last) r
CROSS JOIN LATERAL (SELECT r.last, scale_low(r.first, r.last) AS low,
                           scale_high(r.first, r.last) AS high) e;
"""


def _seed_rollups(table: str) -> str:
    return f"""
INSERT INTO {table} (series_id, bucket, last_step, min_step, min_value, min_epoch,
                     min_wall_time, max_step, max_value, max_epoch, max_wall_time)
SELECT l.sid, t.bucket, t.last, t.low, t.low_value, 0, t.low_wall, t.high, t.high_value, 0,
       t.high_wall
FROM scale_lengths l
JOIN {table}_templates t ON t.m = mod(l.sid, 7) AND t.len = l.n
WHERE l.sid BETWEEN :lo AND :hi
ORDER BY l.sid, t.bucket
"""


_SEED_SERIES = """
INSERT INTO metric_series (id, run_id, key, points, first_step, last_step, last_value,
                           min_step, min_value, max_step, max_value)
SELECT sid, run_id, key, n, 0, n - 1, scale_value(sid, n - 1), scale_low(0, n - 1),
       scale_value(sid, scale_low(0, n - 1)), 0, scale_value(sid, 0)
FROM scale_lengths ORDER BY sid
"""


def _seed(engine: Engine, run_ids: list[str], total: int) -> dict[str, object]:
    """Seeds about `total` points (whole points per series). Returns what was built."""
    other = (total - PROBE_POINTS) // (SERIES - 1)
    if other < 2:
        raise SystemExit(f"{total} points are too few for {SERIES} series; give at least 1M")
    per_run = SERIES // RUNS
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"ALTER TABLE {table} SET UNLOGGED"))
        conn.exec_driver_sql(_FUNCTIONS)
        conn.execute(
            text(
                "INSERT INTO scale_lengths SELECT sid,"
                " (CAST(:runs AS varchar[]))[(sid - 1) / :per_run + 1],"
                " CASE WHEN mod(sid - 1, :per_run) = 0 THEN 'loss'"
                " ELSE 'metric_' || lpad(mod(sid - 1, :per_run)::text, 3, '0') END,"
                " CASE WHEN sid = 1 THEN :probe ELSE :other END"
                " FROM generate_series(1, :series) sid"
            ),
            {
                "runs": run_ids,
                "per_run": per_run,
                "probe": PROBE_POINTS,
                "other": other,
                "series": SERIES,
            },
        )
        conn.execute(text(_SEED_SERIES))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(_SHAPES)
        _block_templates(conn)
        conn.exec_driver_sql(_rollup_templates("metric_rollups", ROLLUP_WIDTH))
        conn.exec_driver_sql(_rollup_templates("metric_coarse_rollups", COARSE_ROLLUP_WIDTH))
        secondary = _drop_secondary_indexes(conn)
    statements = [
        text(_SEED_BLOCKS),
        text(_seed_rollups("metric_rollups")),
        text(_seed_rollups("metric_coarse_rollups")),
    ]
    halves = [(1, SERIES // 2), (SERIES // 2 + 1, SERIES)]

    def seed_half(lo: int, hi: int) -> None:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement, {"lo": lo, "hi": hi})

    _in_threads([partial(seed_half, lo, hi) for lo, hi in halves])
    with engine.begin() as conn:
        for definition in secondary:
            conn.exec_driver_sql(definition)
    seconds = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        points = int(conn.scalar(text("SELECT sum(points) FROM metric_series")) or 0)
        size = sum(
            int(conn.scalar(text(f"SELECT pg_total_relation_size('{t}')")) or 0) for t in TABLES
        )
    return {"points": points, "seed_seconds": round(seconds, 1), "bytes": size}


def _drop_secondary_indexes(conn: Connection) -> list[str]:
    """Drops the metric tables' indexes that no constraint needs, returning how to make them
    again: built once after the copy, they cost a sort instead of a B-tree insert per row.
    (The primary keys stay: the rows arrive in their order, so those inserts are appends.)"""
    rows = conn.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)"
        ),
        {"tables": list(TABLES)},
    ).all()
    for name, _ in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _in_threads(jobs: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@dataclass
class _Store:
    """One seeded size, kept until every size has been read."""

    points: int
    session: Session
    probe: str
    """Run 0: its `loss` series is the one read at every size."""


def _seed_size(total: int, stack: ExitStack) -> _Store:
    _, engine = stack.enter_context(scratch_database("runyard_scale"))
    server.models.metadata.create_all(engine)
    session_factory = make_session_factory(engine)
    with session_factory() as session:
        run_ids = _make_runs(session)
    seeded = _seed(engine, run_ids, total)
    # Reads start once the seed's writes are on disk: measured while the kernel writes back
    # gigabytes of dirty pages, a read times the writeback, not the store.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))
    os.sync()
    emit(
        "metric_scale_seed",
        float(seeded["seed_seconds"]),  # type: ignore[arg-type]
        "s",
        "",
        points=seeded["points"],
        series=SERIES,
        bytes=seeded["bytes"],
        bytes_per_point=round(int(seeded["bytes"]) / int(seeded["points"]), 2),  # type: ignore[call-overload]
    )
    session = stack.enter_context(session_factory())
    return _Store(int(seeded["points"]), session, run_ids[0])  # type: ignore[call-overload]


def _read(store: _Store) -> int:
    return len(get_series(store.session, store.probe, "loss", 2000, None, None).points)


def _summarise(store: _Store) -> int:
    return len(run_summary(store.session, store.probe).metrics)


def _timed_ms(probe: Callable[[_Store], int], store: _Store) -> float:
    began = time.perf_counter()
    probe(store)
    return (time.perf_counter() - began) * 1000


def _measure(stores: list[_Store], queries: int) -> None:
    """Every size is read in the same rounds (one read of each per round, in turn), so a
    change in the machine's load falls on all sizes alike instead of on whichever came last."""
    probes: dict[str, Callable[[_Store], int]] = {
        "downsampled_read_ms": _read,
        "run_summary_ms": _summarise,
    }
    counts = {name: [probe(store) for store in stores] for name, probe in probes.items()}
    for store in stores:  # warm: the first reads of a size load its pages into the cache
        for probe in probes.values():
            for _ in range(3):
                probe(store)
    timings: dict[str, list[list[float]]] = {name: [[] for _ in stores] for name in probes}
    for _ in range(queries):
        for name, probe in probes.items():
            for i, store in enumerate(stores):
                timings[name][i].append(_timed_ms(probe, store))
    extra_name = {"downsampled_read_ms": "returned_points", "run_summary_ms": "metrics"}
    for name in probes:
        smallest = statistics.median(timings[name][0])
        for i, store in enumerate(stores):
            ordered = sorted(timings[name][i])
            p50 = statistics.median(ordered)
            emit(
                f"metric_scale_{name}",
                p50,
                "ms (p50)",
                "vs_smallest within 20 %",
                p95=round(ordered[int(0.95 * (len(ordered) - 1))], 2),
                stored_points=store.points,
                series_points=PROBE_POINTS,
                vs_smallest=round(p50 / smallest, 3),
                queries=queries,
                **{extra_name[name]: counts[name][i]},
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000, 100_000_000], help="points"
    )
    parser.add_argument("--billion", action="store_true", help="also 1,000,000,000 points")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    sizes = sorted(set(args.sizes) | ({1_000_000_000} if args.billion else set()))
    with ExitStack() as stack:
        stores = [_seed_size(total, stack) for total in sizes]
        _measure(stores, args.queries)


if __name__ == "__main__":
    main()
