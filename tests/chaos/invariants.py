"""What must hold after the chaos, read straight from SQL and /proc."""

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text


@dataclass
class Holding:
    worker: str
    slot: str
    fence: int
    start: datetime
    end: datetime | None


def slot_holdings(engine: Engine) -> list[Holding]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.worker_name, n.slots, n.fence, a.created_at, n.released_at "
                "FROM attempt_nodes n JOIN run_attempts a ON a.fence = n.fence"
            )
        ).all()
    holdings: list[Holding] = []
    for worker, slots, fence, start, end in rows:
        listed = slots if isinstance(slots, list) else json.loads(slots)
        holdings.extend(Holding(worker, str(s), fence, start, end) for s in listed)
    return holdings


def double_held_slots(holdings: list[Holding], now: datetime) -> list[str]:
    """Pairs of attempts whose holding of one slot overlapped in time."""
    by_slot: dict[tuple[str, str], list[Holding]] = defaultdict(list)
    for holding in holdings:
        by_slot[(holding.worker, holding.slot)].append(holding)
    overlaps = []
    for (worker, slot), held in by_slot.items():
        held.sort(key=lambda h: h.start)
        for earlier, later in itertools.pairwise(held):
            if (earlier.end or now) > later.start:
                overlaps.append(f"{worker}[{slot}]: fence {earlier.fence} and {later.fence}")
    return overlaps


def duplicated_log_lines(engine: Engine, run_ids: list[str]) -> list[str]:
    """A line printed once by an attempt must be stored once for it."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, attempt, text, COUNT(*) FROM log_lines "
                "WHERE run_id = ANY(:ids) AND text LIKE '[chaos]%' "
                "GROUP BY run_id, attempt, text HAVING COUNT(*) > 1"
            ),
            {"ids": run_ids},
        ).all()
    return [f"{r[0]} attempt {r[1]}: {r[2]!r} x{r[3]}" for r in rows]


def wasted_gpu_seconds(engine: Engine, run_ids: list[str]) -> float:
    """Slot-seconds of attempts that were superseded (their training was done again)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.created_at, a.ended_at, n.slots FROM run_attempts a "
                "JOIN attempt_nodes n ON n.fence = a.fence "
                "WHERE a.run_id = ANY(:ids) AND a.end_reason LIKE '%requeued as attempt%'"
            ),
            {"ids": run_ids},
        ).all()
    total = 0.0
    for start, end, slots in rows:
        count = len(slots) if isinstance(slots, list) else slots.count(",") + 1
        total += (end - start).total_seconds() * count
    return total


def leftover_run_processes(run_ids: list[str]) -> list[str]:
    """Processes (anywhere on the machine) that belong to one of the runs."""
    marks = [f"RUNYARD_RUN_ID={run_id}".encode() for run_id in run_ids]
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if any(mark in environ for mark in marks):
            found.append(f"pid {proc.name}: {cmdline[:120]!r}")
    return found
