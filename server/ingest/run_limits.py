"""Per-run limits the ingester enforces, and the usage rows it keeps to enforce them.

What happens past each limit, so that one run cannot hurt the others and its owner sees why:
- metric keys: points of keys beyond the first `max_metric_keys` of a run are not stored; the
  first time, a system line in the run's log says so (naming the keys), and the count of refused
  points is in `GET /runs/{id}/summary`;
- log bytes: when a run's stored log passes `max_log_bytes`, its oldest lines are removed down
  to 90 % of the limit and a system line stands where they were, saying how many were dropped:
  the newest lines (where a traceback is) are what people need, and a chatty run is not a
  failed one, so the run goes on;
- event size: an event larger than `max_event_bytes` is dead-lettered unread, and a system line
  in its run's log says so.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text

from server.ingest.models import RunIngestUsage


@dataclass(frozen=True)
class RunLimits:
    max_metric_keys: int = 10_000
    max_log_bytes: int = 256 * 1024**2
    max_event_bytes: int = 16 * 1024**2

    @staticmethod
    def from_settings(settings: Any) -> "RunLimits":
        return RunLimits(
            max_metric_keys=settings.max_metric_keys_per_run,
            max_log_bytes=settings.max_log_bytes_per_run,
            max_event_bytes=settings.max_event_bytes,
        )


@dataclass
class Usage:
    run_id: str
    log_bytes: int
    log_lines_dropped: int
    log_trims: int
    metric_points_refused: int
    events_refused: int


_CREATE_USAGE = text(
    "INSERT INTO run_ingest_usage (run_id, log_bytes, log_lines_dropped, log_trims,"
    " metric_points_refused, events_refused) VALUES (:run_id, 0, 0, 0, 0, 0)"
    " ON CONFLICT (run_id) DO NOTHING"
)
_SAVE_USAGE = text(
    "UPDATE run_ingest_usage SET log_bytes = :log_bytes,"
    " log_lines_dropped = :log_lines_dropped, log_trims = :log_trims,"
    " metric_points_refused = :metric_points_refused, events_refused = :events_refused"
    " WHERE run_id = :run_id"
)


def lock_usage(conn: Connection, run_ids: Iterable[str]) -> dict[str, Usage]:
    """The runs' usage rows, created if missing and locked until the transaction ends, in run
    id order (so two ingesters never wait on each other in a circle). This is the per-run
    turn-taking that keeps blocks, rollups and summaries exact with several ingesters."""
    runs = sorted(set(run_ids))
    if not runs:
        return {}
    conn.execute(_CREATE_USAGE, [{"run_id": r} for r in runs])
    u = RunIngestUsage.__table__.c
    rows = conn.execute(
        select(
            u.run_id,
            u.log_bytes,
            u.log_lines_dropped,
            u.log_trims,
            u.metric_points_refused,
            u.events_refused,
        )
        .where(u.run_id.in_(runs))
        .order_by(u.run_id)
        .with_for_update()
    )
    return {row.run_id: Usage(*row) for row in rows}


def save_usage(conn: Connection, usage: Iterable[Usage]) -> None:
    rows = [vars(u) for u in usage]
    if rows:
        conn.execute(_SAVE_USAGE, rows)
