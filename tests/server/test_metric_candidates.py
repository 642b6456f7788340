"""Long series read together: one statement per rollup tier for every series of a request,
with each series' answer the one it would get read alone."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from runyard.schemas.events import MetricPoint, MetricsEvent
from server.metrics import candidates
from server.metrics.candidates import candidate_points, candidates_of_many
from server.metrics.models import COARSE_ROLLUP_WIDTH, ROLLUP_WIDTH, MetricSeries
from server.metrics.repository import RAW_SPAN_LIMIT, range_edges
from server.metrics.service import get_many_series, get_series
from server.runs.models import Run
from tests.server.ingest_helpers import attributed, store

# (first step, last step, stride): whole coarse buckets with ragged edges, a series starting
# mid-bucket, a sparse one with a gap, and a short one read from its points.
SHAPES = [
    (0, 30 * COARSE_ROLLUP_WIDTH + 77, 3),
    (ROLLUP_WIDTH * 5 + 11, 20 * COARSE_ROLLUP_WIDTH - 1, 7),
    (1_000, 40 * COARSE_ROLLUP_WIDTH, 61),
    (0, RAW_SPAN_LIMIT // 4, 5),
]


def _store_series(session: Session, run: Run) -> dict[str, int]:
    for i, (first, last, stride) in enumerate(SHAPES):
        steps = [s for s in range(first, last + 1, stride) if not (i == 2 and 30_000 < s < 90_000)]
        points = [
            MetricPoint(
                key=f"m{i}", step=s, value=((s * 7919) % 1009) / (i + 1), wall_time=float(s)
            )
            for s in steps
        ]
        store(
            session, MetricsEvent(**attributed(run, 1), seq=i, ts=datetime.now(UTC), points=points)
        )
    rows = session.execute(
        select(MetricSeries.key, MetricSeries.id).where(MetricSeries.run_id == run.id)
    )
    return {key: sid for key, sid in rows}


def test_many_series_read_together_give_what_each_gives_alone(
    session: Session, make_user: Callable, make_project: Callable, make_run: Callable
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    ids = _store_series(session, run)
    windows = [(None, None), (0, 10**9), (12_345, 98_765), (ROLLUP_WIDTH, 3 * COARSE_ROLLUP_WIDTH)]
    for start, end in windows:
        lo, hi = start or 0, end if end is not None else 2**62
        edges = {sid: e for sid in ids.values() if (e := range_edges(session, sid, lo, hi))}
        together = candidates_of_many(session, edges)
        for sid in ids.values():
            alone = candidate_points(session, sid, start, end, buckets=399)
            assert [(p.step, p.value) for p in together.get(sid, [])] == [
                (p.step, p.value) for p in alone
            ], (sid, start, end)


def test_the_batch_route_answers_as_the_single_key_route_does(
    session: Session, make_user: Callable, make_project: Callable, make_run: Callable
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    _store_series(session, run)
    for start, end in [(None, None), (5_000, 70_000)]:
        batch = get_many_series(session, run.id, None, 800, start, end)
        for series in batch.series:
            assert series.points == get_series(session, run.id, series.key, 800, start, end).points


def test_a_page_of_long_charts_costs_a_statement_per_tier_not_several_per_series(
    session: Session, make_user: Callable, make_project: Callable, make_run: Callable
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    _store_series(session, run)
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        get_many_series(session, run.id, None, 800, None, None)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The run's series, the short one's blocks, then one per rollup tier and one for the
    # points at the long series' edges: the same four for three long series as for one.
    assert len(statements) <= 2 + len(candidates.TIERS) + 1, statements
