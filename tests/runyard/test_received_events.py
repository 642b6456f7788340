"""The ingester reads metrics events with ReceivedEventAdapter (points as dicts, for speed):
it must accept and refuse exactly what EventAdapter does, and read the same points."""

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runyard.schemas.events import (
    EventAdapter,
    LogEvent,
    MetricsEvent,
    ReceivedEventAdapter,
    ReceivedMetricsEvent,
)

ENVELOPE = {"run_id": "r1", "attempt": 1, "fence": 1, "worker": "w", "seq": 0}


def _event(*points: dict[str, Any]) -> bytes:
    ts = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    return json.dumps({**ENVELOPE, "ts": ts, "kind": "metrics", "points": list(points)}).encode()


def _outcome(adapter: Any, payload: bytes) -> list[tuple[Any, ...]] | str:
    try:
        event = adapter.validate_json(payload)
    except ValidationError as exc:
        return f"refused: {sorted(e['loc'][-1] for e in exc.errors())}"
    points = event.points
    read = [p if isinstance(p, dict) else p.model_dump() for p in points]
    return [
        (p["key"], p["step"], p.get("epoch"), _same_nan(p["value"]), p["wall_time"]) for p in read
    ]


def _same_nan(value: float | None) -> object:
    return "nan" if value is not None and math.isnan(value) else value


POINT = {"key": "loss", "step": 3, "epoch": 0, "value": 0.5, "wall_time": 1.7e9}

CASES = [
    POINT,
    {k: v for k, v in POINT.items() if k != "epoch"},
    POINT | {"epoch": None},
    POINT | {"value": None},
    POINT | {"value": "NaN"},
    POINT | {"value": "Infinity"},
    POINT | {"value": "-Infinity"},
    POINT | {"key": ""},
    POINT | {"key": "k" * 201},
    POINT | {"step": -1},
    POINT | {"step": 2**62 + 1},
    POINT | {"epoch": -1},
    POINT | {"epoch": 2**31},
    POINT | {"wall_time": "NaN"},
    POINT | {"value": "high"},
    POINT | {"extra": 1},
    {k: v for k, v in POINT.items() if k != "wall_time"},
]


@pytest.mark.parametrize("point", CASES)
def test_received_points_follow_the_same_rules_as_metric_points(point: dict[str, Any]) -> None:
    payload = _event(point)
    assert _outcome(ReceivedEventAdapter, payload) == _outcome(EventAdapter, payload)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "key": st.text(min_size=0, max_size=3),
                "step": st.integers(-2, 2**63),
                "value": st.one_of(st.none(), st.floats(), st.sampled_from(["NaN", "x"])),
                "wall_time": st.floats(),
            },
            optional={"epoch": st.one_of(st.none(), st.integers(-2, 2**32))},
        ),
        max_size=4,
    )
)
def test_any_points_are_read_alike_by_both_adapters(points: list[dict[str, Any]]) -> None:
    payload = _event(*points)
    assert _outcome(ReceivedEventAdapter, payload) == _outcome(EventAdapter, payload)


def test_received_events_are_metrics_as_dicts_and_other_kinds_as_they_are() -> None:
    sent = MetricsEvent.model_validate_json(_event(POINT))
    received = ReceivedEventAdapter.validate_json(EventAdapter.dump_json(sent))
    assert isinstance(received, ReceivedMetricsEvent)
    assert received.points == [POINT]
    log = LogEvent(**ENVELOPE, ts=datetime.now(UTC), lines=["hi"])
    assert ReceivedEventAdapter.validate_json(EventAdapter.dump_json(log)) == log
