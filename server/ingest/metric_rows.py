"""A batch's metric points as database-ready columns, built without touching the database.

The ingester's reader thread builds these (and, for PostgreSQL, their array literals) while
the writer thread waits on the previous batch's transaction, so the per-point Python work
overlaps the database's instead of following it. Series are referred to by their index in
`series` until the writer knows their ids.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from runyard.schemas.events import Event, MetricsEvent

PG_POINT_TYPES = ("integer", "bigint", "integer", "float8", "float8", "integer", "bigint")
"""Array types of the columns; the first holds series indexes, mapped to ids in SQL."""


@dataclass
class MetricRows:
    series: list[tuple[str, str]]
    """(run_id, key) of each series index."""
    columns: tuple[list[Any], ...]
    """series index, step, epoch, value, wall_time, attempt, seq; one row per (series, step)."""
    run_ids: frozenset[str] = field(default_factory=frozenset)

    def __len__(self) -> int:
        return len(self.columns[0])

    @cached_property
    def pg_arrays(self) -> dict[str, str]:
        """The columns as PostgreSQL array literals, by parameter name (c0..c6)."""
        return {
            f"c{i}": array_literal(column, PG_POINT_TYPES[i])
            for i, column in enumerate(self.columns)
        }


def metric_rows(events: Sequence[Event]) -> MetricRows:
    """The metric points of `events` as columns. Column lists rather than an object per point:
    a batch holds ~100k points. Events go oldest (attempt, seq) first, and of several rows of
    one (series, step) only the last position (the newest event's) is kept: PostgreSQL refuses
    to update a row twice in one statement."""
    metrics = sorted(
        (e for e in events if isinstance(e, MetricsEvent)), key=lambda e: (e.attempt, e.seq)
    )
    index: dict[tuple[str, str], int] = {}
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    series, steps, epochs, values, walls, attempts, seqs = columns
    for event in metrics:
        points, n = event.points, len(event.points)
        keys = {p.key for p in points}
        for key in sorted(keys):
            index.setdefault((event.run_id, key), len(index))
        if len(keys) == 1:
            series.extend([index[(event.run_id, keys.pop())]] * n)
        else:
            series.extend([index[(event.run_id, p.key)] for p in points])
        steps.extend([p.step for p in points])
        epochs.extend([p.epoch for p in points])
        # The event schema already turned NaN and infinities into None (stored as NULL).
        values.extend([p.value for p in points])
        walls.extend([p.wall_time for p in points])
        attempts.extend([event.attempt] * n)
        seqs.extend([event.seq] * n)
    last_of = {pair: i for i, pair in enumerate(zip(series, steps, strict=True))}
    if len(last_of) < len(steps):
        kept = sorted(last_of.values())
        columns = tuple([column[i] for i in kept] for column in columns)
    return MetricRows(list(index), columns, frozenset(e.run_id for e in metrics))


def array_literal(values: Sequence[Any], pg_type: str) -> str:
    """A PostgreSQL array literal ('{1,2,NULL}') of one column's values."""
    if pg_type in ("varchar", "text"):
        items = (
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
    elif pg_type == "timestamptz":
        items = ("NULL" if v is None else f'"{v.isoformat()}"' for v in values)
    elif None not in values:
        # One %-format over the whole column: the fastest exact float text in pure Python.
        return "{" + ("%r," * len(values) % tuple(values))[:-1] + "}"
    elif values.count(None) == len(values):
        return "{" + ",".join(["NULL"] * len(values)) + "}"
    else:
        items = ("NULL" if v is None else repr(v) for v in values)
    return "{" + ",".join(items) + "}"
