"""Stores log lines idempotently, keeps each run's log under its byte limit by dropping the
oldest lines (see run_limits.py), and writes the system lines that explain a limit.

A run's usage row is locked by the caller, so the byte count and the lines change together.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from runyard.schemas.events import LogEvent
from server.ingest.run_limits import Usage
from server.logs.models import LogLine

_LOG_COLUMNS = ("run_id", "attempt", "seq", "line_no", "stream", "text", "ts")
_PG_LOG_TYPES = ("varchar", "integer", "integer", "integer", "varchar", "text", "timestamptz")
_LOG_CONFLICT = " ON CONFLICT (run_id, attempt, seq, line_no) DO NOTHING"

MARKER_ATTEMPT = 0
"""System lines about limits have attempt 0 (real attempts start at 1) and a negative seq
naming the kind of notice, so they are idempotent like every other line."""
TRIM_SEQ = -1
KEY_LIMIT_SEQ = -2
EVENT_SIZE_SEQ = -3

KEEP_AFTER_TRIM = 0.9
"""A trim keeps this fraction of the limit, so it happens once per 10 % of growth, not on every
batch past the limit."""


@dataclass(frozen=True)
class Line:
    run_id: str
    attempt: int
    seq: int
    line_no: int
    stream: str
    text: str
    ts: datetime

    @property
    def size(self) -> int:
        return line_bytes(self.text)


def line_bytes(line: str) -> int:
    return len(line.encode("utf-8", "replace"))


def system_line(run_id: str, seq: int, line_no: int, message: str) -> Line:
    return Line(run_id, MARKER_ATTEMPT, seq, line_no, "system", message, datetime.now(UTC))


def lines_of(events: Sequence[LogEvent]) -> list[Line]:
    return [
        Line(e.run_id, e.attempt, e.seq, n, e.stream, _printable(line), e.ts)
        for e in events
        for n, line in enumerate(e.lines)
    ]


def _printable(line: str) -> str:
    # PostgreSQL text cannot hold NUL; a stray one from user output must not block the stream.
    return line.replace("\x00", "\ufffd")


def write_lines(
    conn: Connection, lines: Sequence[Line], usage: dict[str, Usage], max_bytes: int
) -> int:
    """Stores the lines not stored yet, then trims each run over `max_bytes`. Returns the
    number of lines stored."""
    fresh = _not_stored(conn, lines)
    _insert(conn, fresh)
    added: dict[str, int] = {}
    for line in fresh:
        added[line.run_id] = added.get(line.run_id, 0) + line.size
    for run_id, size in added.items():
        run_usage = usage[run_id]
        run_usage.log_bytes += size
        if run_usage.log_bytes > max_bytes:
            _trim(conn, run_usage, max_bytes)
    return len(fresh)


def _not_stored(conn: Connection, lines: Sequence[Line]) -> list[Line]:
    """An event's lines are stored together, so an event with any line stored is stored: a
    redelivered event changes nothing and costs no bytes."""
    seqs: dict[tuple[str, int], set[int]] = {}
    for line in lines:
        seqs.setdefault((line.run_id, line.attempt), set()).add(line.seq)
    stored: set[tuple[str, int, int]] = set()
    for (run_id, attempt), wanted in seqs.items():
        rows = conn.execute(
            text(
                "SELECT DISTINCT seq FROM log_lines WHERE run_id = :run_id"
                " AND attempt = :attempt AND seq BETWEEN :lo AND :hi"
            ),
            {"run_id": run_id, "attempt": attempt, "lo": min(wanted), "hi": max(wanted)},
        )
        stored |= {(run_id, attempt, seq) for (seq,) in rows if seq in wanted}
    return [line for line in lines if (line.run_id, line.attempt, line.seq) not in stored]


def _insert(conn: Connection, lines: Sequence[Line]) -> None:
    if not lines:
        return
    columns = [[getattr(line, c) for line in lines] for c in _LOG_COLUMNS]
    names = ", ".join(_LOG_COLUMNS)
    if conn.dialect.name == "postgresql":
        # One array per column in one statement: a single round trip for thousands of lines.
        arrays = ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(_PG_LOG_TYPES))
        conn.execute(
            text(f"INSERT INTO log_lines ({names}) SELECT * FROM unnest({arrays}){_LOG_CONFLICT}"),
            {f"c{i}": column for i, column in enumerate(columns)},
        )
        return
    # Through the table's column types, so SQLite stores timestamps the way the ORM reads them.
    table = LogLine.__table__
    placeholders = ", ".join(f":{c}" for c in _LOG_COLUMNS)
    statement = text(
        f"INSERT INTO log_lines ({names}) VALUES ({placeholders}){_LOG_CONFLICT}"
    ).bindparams(*(bindparam(c, type_=table.c[c].type) for c in _LOG_COLUMNS))
    conn.execute(
        statement, [dict(zip(_LOG_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
    )


def _size_sql(conn: Connection) -> str:
    return (
        "octet_length(text)" if conn.dialect.name == "postgresql" else "length(CAST(text AS BLOB))"
    )


def _trim(conn: Connection, usage: Usage, max_bytes: int) -> None:
    """Drops the run's oldest lines down to KEEP_AFTER_TRIM of the limit, and puts a marker
    line where they were (it takes the id of the newest dropped line, so it sorts first)."""
    excess = usage.log_bytes - int(max_bytes * KEEP_AFTER_TRIM)
    size = _size_sql(conn)
    cut: Any = conn.execute(
        text(
            f"SELECT id, total FROM (SELECT id, SUM({size}) OVER (ORDER BY id) AS total"
            " FROM log_lines WHERE run_id = :run_id) AS running WHERE total >= :excess"
            " ORDER BY id LIMIT 1"
        ),
        {"run_id": usage.run_id, "excess": excess},
    ).first()
    if cut is None:
        return
    dropped = conn.execute(
        text(
            "SELECT count(*) FROM log_lines WHERE run_id = :run_id AND id <= :cut"
            " AND attempt <> :marker"
        ),
        {"run_id": usage.run_id, "cut": cut.id, "marker": MARKER_ATTEMPT},
    ).scalar_one()
    conn.execute(
        text("DELETE FROM log_lines WHERE run_id = :run_id AND id <= :cut"),
        {"run_id": usage.run_id, "cut": cut.id},
    )
    usage.log_bytes -= int(cut.total)
    usage.log_lines_dropped += int(dropped)
    usage.log_trims += 1
    marker = system_line(
        usage.run_id,
        TRIM_SEQ,
        usage.log_trims,
        f"[runyard] {usage.log_lines_dropped:,} older log lines were dropped to keep this run's"
        f" log under {max_bytes:,} bytes (RUNYARD_MAX_LOG_BYTES_PER_RUN); the newest lines"
        " are kept",
    )
    table = LogLine.__table__
    conn.execute(
        text(
            "INSERT INTO log_lines (id, run_id, attempt, seq, line_no, stream, text, ts)"
            " VALUES (:id, :run_id, :attempt, :seq, :line_no, :stream, :text, :ts)"
        ).bindparams(bindparam("ts", type_=table.c.ts.type)),
        {"id": cut.id, **{c: getattr(marker, c) for c in _LOG_COLUMNS}},
    )
    usage.log_bytes += marker.size
