"""GET /api/v1/runs/{id}/metrics and /metrics/{key}: keys, downsampled series, zoom, access."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from runyard.schemas.events import MetricPoint, MetricsEvent
from server.metrics.repository import RAW_SPAN_LIMIT
from server.runs.models import Run
from tests.server.ingest_helpers import attributed, metrics_event, store


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0])


def _series(client: TestClient, headers: dict, run: Run, key: str = "loss", **params: object):
    return client.get(f"/api/v1/runs/{run.id}/metrics/{key}", params=params, headers=headers)


def test_lists_the_metric_keys_of_a_run(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(
        session,
        metrics_event(run, 0, range(3), key="val/acc"),
        metrics_event(run, 1, range(3)),
    )
    response = client.get(f"/api/v1/runs/{run.id}/metrics", headers=auth(owner[1]))
    assert response.status_code == 200
    assert response.json()["keys"] == ["loss", "val/acc"]


def test_short_series_comes_back_whole_with_epoch_and_wall_time(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(150)))
    body = _series(client, auth(owner[1]), run).json()
    assert body["downsampled"] is False
    assert len(body["points"]) == 150
    assert body["points"][120] == {"step": 120, "value": 120.0, "epoch": 1, "wall_time": 1e9 + 120}


def test_keys_with_slashes_are_addressable(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(5), key="val/acc"))
    assert len(_series(client, auth(owner[1]), run, key="val/acc").json()["points"]) == 5


def test_long_series_is_downsampled_keeping_min_max_and_last(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    # Steps 10 apart so the range spans more than RAW_SPAN_LIMIT steps (the rollup path).
    steps = range(0, RAW_SPAN_LIMIT * 2, 10)
    points = [
        MetricPoint(key="loss", step=s, value=float(s % 777), wall_time=float(s)) for s in steps
    ]
    points[3333] = MetricPoint(key="loss", step=33330, value=-5.0, wall_time=0.0)
    points[4444] = MetricPoint(key="loss", step=44440, value=5000.0, wall_time=0.0)
    store(session, MetricsEvent(**attributed(run, 1), seq=0, ts=datetime.now(UTC), points=points))
    body = _series(client, auth(owner[1]), run, max_points=500).json()
    result = body["points"]
    assert body["downsampled"] is True
    assert len(result) <= 500
    assert [p["step"] for p in result] == sorted(p["step"] for p in result)
    values = {p["value"] for p in result}
    assert {-5.0, 5000.0} <= values
    assert result[-1]["step"] == steps[-1]


def test_zoom_returns_only_steps_between_start_and_end(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(1000)))
    body = _series(client, auth(owner[1]), run, start=100, end=199, max_points=1000).json()
    assert [p["step"] for p in body["points"]] == list(range(100, 200))


@pytest.mark.parametrize("params", [{"start": 10, "end": 5}, {"max_points": 2}, {"start": -1}])
def test_bad_query_parameters_get_422(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable, params: dict
) -> None:
    store(session, metrics_event(run, 0, range(10)))
    assert _series(client, auth(owner[1]), run, **params).status_code == 422


def test_unknown_key_gets_404_naming_the_keys_route(
    client: TestClient, run: Run, owner: tuple, auth: Callable
) -> None:
    response = _series(client, auth(owner[1]), run, key="nope")
    assert response.status_code == 404
    assert f"/api/v1/runs/{run.id}/metrics" in response.json()["detail"]


def test_another_teams_run_is_not_found(
    client: TestClient, session: Session, run: Run, make_user: Callable, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(10)))
    _, stranger = make_user()
    assert client.get(f"/api/v1/runs/{run.id}/metrics", headers=auth(stranger)).status_code == 404
    assert _series(client, auth(stranger), run).status_code == 404


def test_metrics_need_a_token(client: TestClient, run: Run) -> None:
    assert client.get(f"/api/v1/runs/{run.id}/metrics").status_code == 401


def test_deleting_a_runs_metrics_removes_blocks_rollups_and_series(
    session: Session, run: Run
) -> None:
    from sqlalchemy import func, select

    from server.metrics.models import MetricBlock, MetricRollup, MetricSeries
    from server.metrics.repository import delete_run_metrics

    store(session, metrics_event(run, 0, range(200)))
    delete_run_metrics(session, run.id)
    session.commit()
    for table in (MetricBlock, MetricRollup, MetricSeries):
        assert session.scalar(select(func.count()).select_from(table)) == 0


def test_several_keys_come_back_in_one_request_as_the_single_key_route_gives_them(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(
        session,
        metrics_event(run, 0, range(0, 3000, 3), key="val/acc"),
        metrics_event(run, 1, range(2000)),
        metrics_event(run, 2, range(10), key="lr"),
    )
    headers = auth(owner[1])
    response = client.get(
        f"/api/v1/runs/{run.id}/metric-series",
        params={"keys": ["val/acc", "loss"], "max_points": 300, "start": 5},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert [s["key"] for s in body["series"]] == ["val/acc", "loss"]
    for series in body["series"]:
        alone = _series(client, headers, run, key=series["key"], max_points=300, start=5)
        assert series == alone.json()


def test_without_keys_every_key_of_the_run_comes_back_sorted(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(
        session,
        metrics_event(run, 0, range(3), key="val/acc"),
        metrics_event(run, 1, range(3)),
    )
    response = client.get(f"/api/v1/runs/{run.id}/metric-series", headers=auth(owner[1]))
    assert [s["key"] for s in response.json()["series"]] == ["loss", "val/acc"]


def test_an_unknown_key_among_several_gets_404_naming_it(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(3)))
    response = client.get(
        f"/api/v1/runs/{run.id}/metric-series",
        params={"keys": ["loss", "nope"]},
        headers=auth(owner[1]),
    )
    assert response.status_code == 404
    assert "'nope'" in response.json()["detail"]


def test_several_keys_of_another_teams_run_are_not_found(
    client: TestClient, session: Session, run: Run, make_user: Callable, auth: Callable
) -> None:
    store(session, metrics_event(run, 0, range(10)))
    _, stranger = make_user()
    response = client.get(f"/api/v1/runs/{run.id}/metric-series", headers=auth(stranger))
    assert response.status_code == 404


def test_a_run_with_5000_keys_lists_every_series_in_one_request(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    # Issue 10: such a run's chart page asks for every series at once.
    keys = [f"layer{i:04d}/grad_norm" for i in range(5000)]
    events = [
        MetricsEvent(
            **attributed(run, 1),
            seq=step,
            ts=datetime.now(UTC),
            points=[
                MetricPoint(key=k, step=step, value=i + step / 10, wall_time=1e9 + step)
                for i, k in enumerate(keys)
            ],
        )
        for step in range(3)
    ]
    store(session, *events)
    headers = auth(owner[1])
    response = client.get(f"/api/v1/runs/{run.id}/metric-series", headers=headers)
    assert response.status_code == 200
    series = response.json()["series"]
    assert [s["key"] for s in series] == keys
    for i in (0, 1234, 4999):
        assert [(p["step"], p["value"]) for p in series[i]["points"]] == [
            (step, i + step / 10) for step in range(3)
        ]
    listed = client.get(f"/api/v1/runs/{run.id}/metrics", headers=headers).json()
    assert listed["keys"] == keys
