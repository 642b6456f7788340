"""How the CLI writes times, ids and values."""

from datetime import UTC, datetime
from typing import Any

SHORT_ID = 8


def short(identifier: str, length: int = SHORT_ID) -> str:
    return identifier[:length]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def span(seconds: float) -> str:
    """12s, 3m 05s, 2h 07m, 4d 03h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def age(value: str | None, now: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "-"
    return span(((now or datetime.now(UTC)) - moment).total_seconds()) + " ago"


def duration(run: dict[str, Any], now: datetime | None = None) -> str:
    started = parse_time(run.get("started_at"))
    if started is None:
        return "-"
    finished = parse_time(run.get("finished_at")) or now or datetime.now(UTC)
    return span((finished - started).total_seconds())


def number(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4g}"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
