"""MetricColumnsEvent, the columnar metrics event workers send: it carries exactly the points it
was built from (NaN, +inf and -inf bit for bit, a missing epoch as none), and the ingester's
reading refuses what breaks a point's rules or the columns' shape."""

import base64
import json
import math
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runyard.schemas.events import (
    EventAdapter,
    MetricColumnsEvent,
    MetricPoint,
    ReceivedEventAdapter,
)

ENVELOPE = {"run_id": "r1", "attempt": 1, "fence": 1, "worker": "w", "seq": 0}
TS = datetime(2026, 1, 1, tzinfo=UTC)


def _bits(value: float | None) -> bytes | None:
    return None if value is None else struct.pack("<d", value)


points = st.builds(
    MetricPoint,
    key=st.sampled_from(["loss", "val/acc", "lr"]),
    step=st.integers(0, 2**62),
    epoch=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    value=st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, -0.0])),
    wall_time=st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.lists(points, min_size=1, max_size=40))
def test_the_points_come_back_as_they_went_in_grouped_by_key(sent: list[MetricPoint]) -> None:
    event = MetricColumnsEvent.of_points(sent, **ENVELOPE, ts=TS)
    read = ReceivedEventAdapter.validate_json(EventAdapter.dump_json(event))
    assert isinstance(read, MetricColumnsEvent)
    order = list(dict.fromkeys(p.key for p in sent))
    expected = [p for key in order for p in sent if p.key == key]
    assert [(p.key, p.step, p.epoch, _bits(p.value), p.wall_time) for p in read.points] == [
        (p.key, p.step, p.epoch, _bits(p.value), p.wall_time) for p in expected
    ]


def _payload(**changes: Any) -> bytes:
    good = MetricColumnsEvent.of_points(
        [MetricPoint(key="loss", step=s, epoch=0, value=1.0, wall_time=1.7e9) for s in range(3)],
        **ENVELOPE,
        ts=TS,
    )
    fields = json.loads(EventAdapter.dump_json(good))
    return json.dumps(fields | changes).encode()


def _column(fmt: str, *values: float) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}{fmt}", *values)).decode()


def test_a_well_formed_payload_is_read() -> None:
    read = ReceivedEventAdapter.validate_json(_payload())
    assert [p.step for p in read.points] == [0, 1, 2]


@pytest.mark.parametrize(
    "changes",
    [
        {"counts": [2]},  # fewer points than the columns hold
        {"counts": [1, 2], "keys": ["loss", "loss"]},  # a key twice
        {"counts": [3, 0], "keys": ["loss", "acc"]},  # a key without points
        {"keys": ["loss", "acc"]},  # keys and counts disagree
        {"keys": [""]},
        {"step": _column("q", 0, 1)},  # a column shorter than the points
        {"step": "not base64!"},
        {"step": _column("q", 0, 1, -1)},
        {"step": _column("q", 0, 1, 2**62 + 1)},
        {"epoch": _column("q", 0, 0, -2)},
        {"epoch": _column("q", 0, 0, 2**31)},
        {"wall_time": _column("d", 1.0, math.inf, 1.0)},
        {"wall_time": _column("d", 1.0, math.nan, 1.0)},
        {"extra": 1},
    ],
)
def test_a_malformed_payload_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReceivedEventAdapter.validate_json(_payload(**changes))


def test_an_event_holds_at_most_100000_points() -> None:
    many = [MetricPoint(key="k", step=s, value=0.0, wall_time=1.0) for s in range(100_001)]
    with pytest.raises(ValidationError, match="at most 100000"):
        MetricColumnsEvent.of_points(many, **ENVELOPE, ts=TS)
