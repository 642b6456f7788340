"""NaN, +inf and -inf stay what they were, end to end: on the wire from the worker, through the
real ingester into SQL, in the API, the run summary, the live feed and the full export."""

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from runyard.schemas.events import EventAdapter, MetricPoint, MetricsEvent
from runyard.schemas.states import RunState
from runyard.schemas.streams import EVENT_FIELD
from server.db import make_session_factory
from server.ingest.consumer import Ingester, IngestOptions
from server.live.cursor import Cursor
from server.live.feed import since
from server.runs.models import Run
from tests.server.conftest import TestDatabase
from tests.server.ingest_helpers import attributed, drain, publish, stored_points

VALUES = [1.0, math.nan, math.inf, -math.inf, -2.0, math.nan]
SHOWN = [1.0, "NaN", "Infinity", "-Infinity", -2.0, "NaN"]


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0], state=RunState.running)


@pytest.fixture
def ingester(database: TestDatabase, redis_prefix: str) -> Iterator[Ingester]:
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    yield Ingester(
        make_session_factory(database.engine),
        redis,
        redis_prefix,
        consumer="test-consumer",
        options=IngestOptions(block_ms=10),
    )
    redis.close()


def _event(run: Run | None) -> MetricsEvent:
    """The values as one event; of `run` (attributed to its worker), or of no run (the wire
    format alone)."""
    envelope = (
        attributed(run)
        if run is not None
        else {"run_id": "r", "attempt": 1, "fence": 1, "worker": "w"}
    )
    return MetricsEvent(
        **envelope,
        seq=0,
        ts=datetime.now(UTC),
        points=[
            MetricPoint(key="loss", step=s, value=v, wall_time=1e9 + s)
            for s, v in enumerate(VALUES)
        ],
    )


def test_non_finite_values_travel_as_strings_json_can_hold() -> None:
    event = _event(None)
    wire = EventAdapter.dump_json(event)
    assert b'"value":"NaN"' in wire and b'"Infinity"' in wire and b'"-Infinity"' in wire
    back = EventAdapter.validate_json(wire)
    assert isinstance(back, MetricsEvent)
    assert [str(p.value) for p in back.points] == [str(v) for v in VALUES]


def test_null_from_an_older_worker_is_stored_as_nan(
    ingester: Ingester, run: Run, session: Session
) -> None:
    envelope = attributed(run)
    old = (
        b'{"run_id":"%s","attempt":1,"fence":%d,"worker":"%s","seq":0,'
        b'"ts":"2026-01-01T00:00:00Z","kind":"metrics",'
        b'"points":[{"key":"loss","step":0,"value":null,"wall_time":1.0}]}'
        % (run.id.encode(), envelope["fence"], envelope["worker"].encode())
    )
    ingester.redis.xadd(ingester.stream, {EVENT_FIELD: old})
    drain(ingester)
    (stored,) = stored_points(session, run.id)
    assert stored[0] == 0 and math.isnan(stored[1])


def test_nan_and_infinities_are_stored_apart_and_shown_apart(
    ingester: Ingester,
    run: Run,
    session: Session,
    client: TestClient,
    owner: tuple,
    auth: Callable,
    database: TestDatabase,
) -> None:
    publish(ingester.redis, ingester.prefix, _event(run))
    drain(ingester)
    assert [str(v) for _, v in stored_points(session, run.id)] == [str(v) for v in VALUES]
    headers = auth(owner[1])

    series = client.get(f"/api/v1/runs/{run.id}/metrics/loss", headers=headers).json()
    assert [p["value"] for p in series["points"]] == SHOWN

    summary = client.get(f"/api/v1/runs/{run.id}/summary", headers=headers).json()
    (loss,) = summary["metrics"]
    assert loss["last"] == {"step": 5, "value": "NaN"}
    assert loss["min"] == {"step": 3, "value": "-Infinity"}
    assert loss["max"] == {"step": 2, "value": "Infinity"}

    csv = client.get(
        f"/api/v1/runs/{run.id}/metrics/loss",
        params={"resolution": "full", "format": "csv"},
        headers=headers,
    ).text
    assert [line.split(",")[1] for line in csv.splitlines()[1:]] == [str(v) for v in SHOWN]

    feed = since(session, run.id, Cursor())
    (message,) = [m for m in feed.messages if m.event == "metrics"]
    assert [p["value"] for p in message.data["points"]] == SHOWN

    if database.engine.dialect.name == "postgresql":
        # In SQL the summary holds the values themselves, not NULLs.
        row = session.execute(
            text(
                "SELECT last_value::text, min_value::text, max_value::text"
                " FROM metric_series WHERE run_id = :run"
            ),
            {"run": run.id},
        ).one()
        assert tuple(row) == ("NaN", "-Infinity", "Infinity")
