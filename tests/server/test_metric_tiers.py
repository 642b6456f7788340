"""The coarse rollup tier: kept at ingest from the fine rollups, equal to a brute-force
computation over the stored points, and what a whole-run query of a long series reads."""

import math
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas.events import MetricPoint, MetricsEvent
from server.metrics.candidates import candidate_points
from server.metrics.downsample import Point
from server.metrics.models import (
    COARSE_ROLLUP_WIDTH,
    ROLLUP_WIDTH,
    MetricCoarseRollup,
    MetricRollup,
    MetricSeries,
)
from server.metrics.rollups import extremes
from server.runs.models import Run
from tests.server.ingest_helpers import attributed, store

NAN = float("nan")
values = st.one_of(st.just(NAN), st.floats(allow_nan=False, allow_infinity=True, width=32))
steps = st.integers(0, 5 * COARSE_ROLLUP_WIDTH)


@st.composite
def writes(draw: st.DrawFn) -> list[dict[int, float]]:
    """One to four events of (step -> value): later events append to buckets (mostly) and
    rewrite some earlier steps (sometimes)."""
    return [
        draw(st.dictionaries(steps, values, min_size=1, max_size=120))
        for _ in range(draw(st.integers(1, 4)))
    ]


@st.composite
def appends(draw: st.DrawFn) -> list[dict[int, float]]:
    """Events each strictly after the previous one, so they append to the bucket the last one
    ended in; few distinct values, so ties with the old extremes and all-missing buckets
    happen."""
    few = st.sampled_from([NAN, -1.0, 0.0, 1.0, float("inf")])
    ordered = sorted(draw(st.sets(st.integers(0, 3 * ROLLUP_WIDTH), min_size=1, max_size=150)))
    cuts = sorted(draw(st.sets(st.integers(1, len(ordered)), max_size=3)) | {len(ordered)})
    events, begin = [], 0
    for cut in cuts:
        events.append({step: draw(few) for step in ordered[begin:cut]})
        begin = cut
    return [e for e in events if e]


def _event(run: Run, seq: int, points: dict[int, float]) -> MetricsEvent:
    return MetricsEvent(
        **attributed(run, 1 + seq),  # each later event is a newer attempt, so its values win
        seq=seq,
        ts=datetime.now(UTC),
        points=[
            MetricPoint(key="loss", step=s, value=v, epoch=s // 1000, wall_time=float(s))
            for s, v in points.items()
        ],
    )


Extremes = dict[int, tuple[tuple[int, object], tuple[int, object], int]]


def _same(value: float | None) -> object:
    """A value that compares equal to itself when it is NaN (NULL is NaN on SQLite)."""
    return "NaN" if value is None or math.isnan(value) else value


def _expected(events: list[dict[int, float]], width: int) -> Extremes:
    """Brute force: the final value of every step, grouped by `width`-step bucket."""
    final: dict[int, float] = {}
    for points in events:
        final.update(points)
    buckets: dict[int, list[Point]] = {}
    for step in sorted(final):
        buckets.setdefault(step // width, []).append(Point(step, final[step]))
    expected = {}
    for bucket, members in buckets.items():
        low, high = extremes(members)
        expected[bucket] = (
            (low.step, _same(low.value)),
            (high.step, _same(high.value)),
            members[-1].step,
        )
    return expected


def _stored(
    session: Session, model: type[MetricRollup] | type[MetricCoarseRollup], sid: int
) -> Extremes:
    rows = session.scalars(select(model).where(model.series_id == sid)).all()
    for r in rows:  # each extreme carries its own point's epoch and wall time
        assert (r.min_epoch, r.min_wall_time) == (r.min_step // 1000, float(r.min_step))
        assert (r.max_epoch, r.max_wall_time) == (r.max_step // 1000, float(r.max_step))
    return {
        r.bucket: ((r.min_step, _same(r.min_value)), (r.max_step, _same(r.max_value)), r.last_step)
        for r in rows
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.one_of(writes(), appends()))
def test_both_rollup_tiers_equal_brute_force_min_max_and_last(
    session: Session,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    events: list[dict[int, float]],
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    for seq, points in enumerate(events):
        store(session, _event(run, seq, points))  # one batch each: rewrites cross batches
    sid = session.scalar(select(MetricSeries.id).where(MetricSeries.run_id == run.id))
    assert sid is not None
    assert _stored(session, MetricRollup, sid) == _expected(events, ROLLUP_WIDTH)
    assert _stored(session, MetricCoarseRollup, sid) == _expected(events, COARSE_ROLLUP_WIDTH)


def test_whole_run_query_of_a_long_series_reads_the_coarse_tier(
    session: Session, make_user: Callable, make_project: Callable, make_run: Callable
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    n = 100 * COARSE_ROLLUP_WIDTH  # 409,600 steps: 6,400 fine rollups, 100 coarse ones
    points = [
        MetricPoint(key="loss", step=s, value=float(s % 1013), wall_time=float(s))
        for s in range(0, n, 8)
    ]
    points[12_345] = MetricPoint(key="loss", step=8 * 12_345, value=-1.0, wall_time=0.0)
    event = MetricsEvent(**attributed(run, 1), seq=0, ts=datetime.now(UTC), points=points)
    store(session, event)
    sid = session.scalar(select(MetricSeries.id).where(MetricSeries.run_id == run.id))
    assert sid is not None
    candidates = candidate_points(session, sid, None, None, buckets=399)
    # Two points per whole coarse bucket (99), two per whole fine bucket of the partial last
    # coarse bucket (63), the points of the partial last fine bucket (8) and the last point:
    # a few hundred, where the fine tier alone would give two per fine bucket (12,800).
    assert len(candidates) <= 2 * 99 + 2 * 63 + 8 + 1
    assert min(p.value for p in candidates) == -1.0
    assert max(p.value for p in candidates) == 1012.0
    assert candidates[-1].step == n - 8
