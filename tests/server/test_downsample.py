"""Properties of the min/max downsampler that the metrics API and the dashboard rely on."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.metrics.downsample import MIN_POINTS, Point, bucket_count, bucket_of, downsample

NAN = float("nan")
values = st.one_of(st.just(NAN), st.floats(allow_nan=False, allow_infinity=True, width=64))


@st.composite
def series(draw: st.DrawFn, max_size: int = 400) -> list[Point]:
    """A series as the database returns it: sorted, one point per step, gaps allowed."""
    steps = sorted(draw(st.sets(st.integers(0, 10_000), max_size=max_size)))
    return [Point(step=s, value=draw(values), epoch=s // 10, wall_time=float(s)) for s in steps]


@given(series(), st.integers(MIN_POINTS, 300))
def test_never_returns_more_than_max_points(points: list[Point], n: int) -> None:
    assert len(downsample(points, n)) <= n


@given(series(), st.integers(MIN_POINTS, 300))
def test_result_is_sorted_subset_of_the_input(points: list[Point], n: int) -> None:
    result = downsample(points, n)
    steps = [p.step for p in result]
    assert steps == sorted(set(steps))
    assert set(result) <= set(points)


@given(series(), st.integers(MIN_POINTS, 300))
def test_keeps_global_min_max_and_last_point(points: list[Point], n: int) -> None:
    result = downsample(points, n)
    if not points:
        assert result == []
        return
    assert result[-1] == points[-1]
    real = [p.value for p in points if not math.isnan(p.value)]
    kept = [p.value for p in result if not math.isnan(p.value)]
    if real:
        assert min(real) in kept
        assert max(real) in kept


@given(series(max_size=50), st.integers(50, 300))
def test_short_series_comes_back_unchanged(points: list[Point], n: int) -> None:
    assert downsample(points, n) == points


@given(series(), st.integers(MIN_POINTS, 300))
def test_every_bucket_keeps_its_own_extremes(points: list[Point], n: int) -> None:
    result = downsample(points, n)
    if len(points) <= n:
        return
    body = points[:-1]
    buckets = bucket_count(n)
    kept = {p.step for p in result}
    for b in range(buckets):
        members = [
            p
            for p in body
            if bucket_of(p.step, body[0].step, body[-1].step, buckets) == b
            and not math.isnan(p.value)
        ]
        if members:
            lowest = min(p.value for p in members if not math.isnan(p.value))
            assert any(p.step in kept and p.value == lowest for p in members)


def test_a_million_point_ramp_shrinks_to_the_requested_size() -> None:
    points = [Point(step=i, value=float(i % 1000)) for i in range(1_000_000)]
    result = downsample(points, 2000)
    assert len(result) <= 2000
    assert result[-1].step == 999_999
    assert {p.value for p in result} >= {0.0, 999.0}


def test_rejects_fewer_than_three_points_with_a_hint() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        downsample([Point(step=0, value=1.0)], 2)
