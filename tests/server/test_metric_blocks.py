"""The block store against the one-row-per-point model it replaced (tests/server/
reference_points.py): any interleaving of attempts, rewrites and duplicate deliveries, split
into any batches, stores the same final series, and its blocks, rollups, summaries and live
feed agree with brute force over that series. Both backends."""

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas.events import (
    AnyEvent,
    EventAdapter,
    MetricColumnsEvent,
    MetricPoint,
    MetricsEvent,
    ReceivedEventAdapter,
)
from server.live.cursor import Cursor
from server.live.feed import since
from server.metrics.blocks import BLOCK_POINTS, decode_block, encode_block
from server.metrics.columns import PointColumns
from server.metrics.downsample import Point
from server.metrics.models import (
    COARSE_ROLLUP_WIDTH,
    ROLLUP_WIDTH,
    MetricBlock,
    MetricCoarseRollup,
    MetricRollup,
    MetricSeries,
)
from server.metrics.rollups import extremes
from server.runs.models import Run
from tests.server.conftest import TestDatabase
from tests.server.ingest_helpers import attributed, store
from tests.server.reference_points import (
    RefPoint,
    comparable,
    metadata,
    reference_series,
    write_reference,
)

KEYS = ("loss", "val/acc")
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0]
values = st.one_of(
    st.sampled_from(SPECIAL), st.floats(allow_nan=False, allow_infinity=False, width=32)
)


@st.composite
def step_sets(draw: st.DrawFn) -> list[int]:
    """A run of consecutive steps (what a trainer logs), or scattered ones (rewrites)."""
    if draw(st.booleans()):
        start = draw(st.integers(0, 3 * BLOCK_POINTS))
        return list(range(start, start + draw(st.integers(1, 2 * BLOCK_POINTS))))
    return sorted(draw(st.sets(st.integers(0, 5000), min_size=1, max_size=60)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[dict]], list[list[int]]]:
    """Events (each a list of point dicts, with (attempt, seq) unique) and a delivery: batches
    of event indexes in any order, every event at least once, some several times."""
    events = []
    seqs: dict[int, int] = {}
    for _ in range(draw(st.integers(1, 7))):
        attempt = draw(st.integers(1, 3))
        seq = seqs.get(attempt, 0) + draw(st.integers(0, 2))
        seqs[attempt] = seq + 1
        points = []
        for key in sorted(draw(st.sets(st.sampled_from(KEYS), min_size=1))):
            steps = draw(step_sets())
            if draw(st.booleans()) and len(steps) > 1:
                steps.insert(draw(st.integers(0, len(steps) - 1)), steps[0])  # a step twice
            points += [
                {"key": key, "step": s, "value": draw(values), "epoch": s // 100} for s in steps
            ]
        events.append({"attempt": attempt, "seq": seq, "points": points})
    order = draw(st.permutations(range(len(events))))
    extra = draw(st.lists(st.sampled_from(range(len(events))), max_size=4))
    deliveries = list(order) + extra
    cuts = sorted(draw(st.sets(st.integers(1, len(deliveries)), max_size=4)) | {len(deliveries)})
    batches, begin = [], 0
    for cut in cuts:
        batches.append(deliveries[begin:cut])
        begin = cut
    return events, [b for b in batches if b]


def _event(run: Run, spec: dict) -> MetricsEvent:
    return MetricsEvent(
        **attributed(run, spec["attempt"]),
        seq=spec["seq"],
        ts=datetime.now(UTC),
        points=[
            MetricPoint(
                key=p["key"],
                step=p["step"],
                value=p["value"],
                epoch=p["epoch"],
                # Distinct per writer, so the test sees which event's point was kept.
                wall_time=float(p["step"] + 1000 * spec["attempt"] + spec["seq"] / 100),
            )
            for p in spec["points"]
        ],
    )


FORMATS = ("sent", "points", "columns", "mixed")
"""How a batch's events reach the writer: as sent (MetricsEvent models); off the stream in
the older format (points as dicts), or in the columnar one workers send; or both formats in
one batch, as during an upgrade."""


def _delivered(events: list[MetricsEvent], fmt: str) -> list[AnyEvent]:
    def columns(event: MetricsEvent) -> bytes:
        envelope = event.model_dump(exclude={"kind", "points"})
        return EventAdapter.dump_json(MetricColumnsEvent.of_points(event.points, **envelope))

    if fmt == "sent":
        return list(events)
    read = []
    for index, event in enumerate(events):
        as_columns = fmt == "columns" or (fmt == "mixed" and index % 2 == 0)
        payload = columns(event) if as_columns else EventAdapter.dump_json(event)
        read.append(ReceivedEventAdapter.validate_json(payload))
    return read


@pytest.fixture
def reference_table(database: TestDatabase, session: Session) -> Iterator[None]:
    metadata.create_all(database.engine)
    yield
    session.close()  # its open transaction would hold the table
    metadata.drop_all(database.engine)


def _stored(session: Session, sid: int) -> tuple[list[RefPoint], list[MetricBlock]]:
    blocks = list(
        session.scalars(
            select(MetricBlock).where(MetricBlock.series_id == sid).order_by(MetricBlock.first_step)
        )
    )
    points = PointColumns.concat([decode_block(b.data, b.first_step) for b in blocks])
    stored = [
        RefPoint(step, comparable(value), None if epoch < 0 else epoch, wall, attempt, seq)
        for step, value, epoch, wall, attempt, seq in zip(
            points.step.tolist(),
            points.value.tolist(),
            points.epoch.tolist(),
            points.wall_time.tolist(),
            points.attempt.tolist(),
            points.seq.tolist(),
            strict=True,
        )
    ]
    return stored, blocks


def _check_blocks(blocks: list[MetricBlock]) -> None:
    previous_last = -1
    for block in blocks:
        points = decode_block(block.data, block.first_step)
        assert 1 <= len(points) == block.points <= BLOCK_POINTS
        assert (int(points.step[0]), int(points.step[-1])) == (block.first_step, block.last_step)
        assert block.first_step > previous_last, "blocks of a series never overlap"
        newest = max(zip(points.attempt.tolist(), points.seq.tolist(), strict=True))
        assert (block.last_attempt, block.last_seq) == newest
        previous_last = block.last_step


def _brute_rollups(series: list[RefPoint], width: int) -> dict[int, tuple]:
    buckets: dict[int, list[Point]] = {}
    for p in series:
        value = math.nan if p.value == "NaN" else float(p.value)  # type: ignore[arg-type]
        buckets.setdefault(p.step // width, []).append(Point(p.step, value))
    found = {}
    for bucket, members in buckets.items():
        low, high = extremes(members)
        found[bucket] = (
            (low.step, comparable(low.value)),
            (high.step, comparable(high.value)),
            members[-1].step,
        )
    return found


def _stored_rollups(session: Session, model: type, sid: int) -> dict[int, tuple]:
    def value(v: float | None) -> object:
        return comparable(math.nan if v is None else v)

    rows = session.scalars(select(model).where(model.series_id == sid)).all()
    return {
        r.bucket: ((r.min_step, value(r.min_value)), (r.max_step, value(r.max_value)), r.last_step)
        for r in rows
    }


def _followed(session: Session, run_id: str) -> dict[tuple[str, int], object]:
    """Every point the live feed sends, following from the start until it has nothing new."""
    cursor, seen = Cursor(), {}
    while True:
        update = since(session, run_id, cursor)
        metrics = [m for m in update.messages if m.event == "metrics"]
        if not metrics:
            return seen
        for message in metrics:
            for p in message.data["points"]:
                assert (p["key"], p["step"]) not in seen, "a point is followed once"
                value = p["value"]
                seen[(p["key"], p["step"])] = "NaN" if value == "NaN" else float(value)
            cursor = message.cursor


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories(),
    formats=st.lists(st.sampled_from(FORMATS), min_size=5, max_size=5),
)
def test_any_delivery_stores_what_the_one_row_per_point_model_stores(
    session: Session,
    reference_table: None,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    history: tuple[list[dict], list[list[int]]],
    formats: list[str],
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    specs, batches = history
    conn = session.connection()
    for number, batch in enumerate(batches):
        events = [_event(run, specs[i]) for i in batch]
        store(session, *_delivered(events, formats[number % len(formats)]))
        write_reference(session.connection(), events)
        session.commit()
    conn = session.connection()
    followed = _followed(session, run.id)
    for key in KEYS:
        expected = reference_series(conn, run.id, key)
        sid = session.scalar(
            select(MetricSeries.id).where(MetricSeries.run_id == run.id, MetricSeries.key == key)
        )
        if not expected:
            assert sid is None
            continue
        assert sid is not None
        stored, blocks = _stored(session, sid)
        assert stored == expected
        _check_blocks(blocks)
        assert _stored_rollups(session, MetricRollup, sid) == _brute_rollups(expected, ROLLUP_WIDTH)
        assert _stored_rollups(session, MetricCoarseRollup, sid) == _brute_rollups(
            expected, COARSE_ROLLUP_WIDTH
        )
        series = session.get(MetricSeries, sid, populate_existing=True)
        assert series is not None
        (whole,) = _brute_rollups(expected, 2**62).values()
        assert series.points == len(expected)
        assert (series.first_step, series.last_step) == (expected[0].step, expected[-1].step)
        last = math.nan if series.last_value is None else series.last_value
        assert comparable(last) == expected[-1].value
        assert _stored_rollups_like(series) == whole
        assert {s: v for (k, s), v in followed.items() if k == key} == {
            p.step: p.value for p in expected
        }


def _stored_rollups_like(series: MetricSeries) -> tuple:
    def value(v: float | None) -> object:
        return comparable(math.nan if v is None else v)

    return (
        (series.min_step, value(series.min_value)),
        (series.max_step, value(series.max_value)),
        series.last_step,
    )


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**40),
            st.sampled_from([*SPECIAL, 1e300, 5e-324]),
            st.one_of(st.just(-1), st.integers(0, 2**31 - 1)),
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(1, 2**31 - 1),
            st.integers(0, 2**62),
        ),
        min_size=1,
        max_size=BLOCK_POINTS,
        unique_by=lambda t: t[0],
    ),
    st.booleans(),
)
def test_a_block_decodes_to_exactly_the_points_encoded(rows: list[tuple], compress: bool) -> None:
    rows.sort()
    columns = [np.array(c) for c in zip(*rows, strict=True)]
    points = PointColumns(
        columns[0].astype(np.int64),
        columns[1].astype(np.float64),
        columns[2].astype(np.int64),
        columns[3].astype(np.float64),
        columns[4].astype(np.int64),
        columns[5].astype(np.int64),
    )
    decoded = decode_block(encode_block(points, compress=compress), int(points.step[0]))
    for name in ("step", "epoch", "attempt", "seq"):
        assert getattr(decoded, name).tolist() == getattr(points, name).tolist()
    # Bit for bit: NaN stays NaN, -0.0 stays -0.0.
    assert decoded.value.tobytes() == points.value.tobytes()
    assert decoded.wall_time.tobytes() == points.wall_time.tobytes()
