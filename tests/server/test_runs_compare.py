"""POST /runs/compare: every flat param and metric summary of up to 1,000 runs, chosen by id
or by the runs list's filter, for the Compare page; runs outside your projects are missing."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.metrics.models import MetricSeries
from server.runs.models import Run
from server.runs.repository import store_params

URL = "/api/v1/runs/compare"


def _summary(run: Run, key: str, last: float, low: float, high: float) -> MetricSeries:
    return MetricSeries(
        run_id=run.id,
        key=key,
        points=5,
        first_step=0,
        last_step=40,
        last_value=last,
        min_step=10,
        min_value=low,
        max_step=20,
        max_value=high,
    )


@pytest.fixture
def sweep(
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    session: Session,
    auth: Callable,
):  # type: ignore[no-untyped-def]
    """Three runs of one user with lr/optim params and val_acc/loss summaries."""
    user, token = make_user()
    project = make_project(user)
    runs = []
    for i, (lr, optim) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam")]):
        run = make_run(project, user)
        store_params(session, run.id, {"model.lr": lr, "model.optim": optim, "trainer.seed": i})
        session.add(_summary(run, "val_acc", 0.5 + i / 10, 0.1, 0.6 + i / 10))
        if i != 1:
            session.add(_summary(run, "loss", 1.0 / (i + 1), 0.01, 2.0))
        runs.append(run)
    session.commit()
    return runs, auth(token)


def test_rows_carry_every_param_and_metric_summary_in_the_order_asked(
    client: TestClient, sweep
) -> None:  # type: ignore[no-untyped-def]
    runs, headers = sweep
    ids = [runs[2].id, runs[0].id]
    body = client.post(URL, json={"run_ids": ids}, headers=headers).json()
    assert [r["id"] for r in body["runs"]] == ids
    assert body["param_keys"] == ["model.lr", "model.optim", "trainer.seed"]
    assert body["metric_keys"] == ["loss", "val_acc"]
    first = body["runs"][0]
    assert first["params"] == {"model.lr": 0.001, "model.optim": "adam", "trainer.seed": 2}
    assert first["metrics"]["val_acc"] == {
        "last": pytest.approx(0.7),
        "min": pytest.approx(0.1),
        "max": pytest.approx(0.8),
        "last_step": 40,
    }
    assert body["missing"] == [] and body["truncated"] is False


def test_a_run_without_a_metric_has_no_entry_for_it(client: TestClient, sweep) -> None:  # type: ignore[no-untyped-def]
    runs, headers = sweep
    body = client.post(URL, json={"run_ids": [runs[1].id]}, headers=headers).json()
    assert set(body["runs"][0]["metrics"]) == {"val_acc"}
    assert body["metric_keys"] == ["val_acc"]


def test_nan_summaries_come_as_text(client: TestClient, sweep, session: Session) -> None:  # type: ignore[no-untyped-def]
    runs, headers = sweep
    series = session.query(MetricSeries).filter_by(run_id=runs[0].id, key="loss").one()
    series.last_value = None  # how the ingester stores a NaN last value
    session.commit()
    body = client.post(URL, json={"run_ids": [runs[0].id]}, headers=headers).json()
    assert body["runs"][0]["metrics"]["loss"]["last"] == "NaN"


def test_runs_of_other_teams_are_missing_not_shown(
    client: TestClient, sweep, make_user: Callable, make_project: Callable, make_run: Callable
) -> None:  # type: ignore[no-untyped-def]
    runs, headers = sweep
    stranger, _ = make_user()
    foreign = make_run(make_project(stranger), stranger)
    body = client.post(
        URL, json={"run_ids": [runs[0].id, foreign.id, "no-such-run"]}, headers=headers
    ).json()
    assert [r["id"] for r in body["runs"]] == [runs[0].id]
    assert body["missing"] == [foreign.id, "no-such-run"]


def test_a_filter_chooses_the_runs_newest_first_and_says_when_it_cut(
    client: TestClient, sweep
) -> None:  # type: ignore[no-untyped-def]
    runs, headers = sweep
    body = client.post(URL, json={"filter": "params.model.optim = 'adam'"}, headers=headers).json()
    assert {r["id"] for r in body["runs"]} == {runs[0].id, runs[2].id}
    cut = client.post(URL, json={"filter": "metrics.val_acc > 0", "limit": 2}, headers=headers)
    assert len(cut.json()["runs"]) == 2 and cut.json()["truncated"] is True


def test_a_bad_filter_is_a_422_that_points_into_the_body(client: TestClient, sweep) -> None:  # type: ignore[no-untyped-def]
    _, headers = sweep
    response = client.post(URL, json={"filter": "metrics.val_acc >> 1"}, headers=headers)
    assert response.status_code == 422
    assert "at character" in response.text and '"body"' in response.text


@pytest.mark.parametrize(
    "body",
    [{}, {"run_ids": ["a"], "filter": "state = 'queued'"}, {"run_ids": ["a"] * 1001}],
)
def test_ids_or_a_filter_and_at_most_1000_runs(client: TestClient, sweep, body) -> None:  # type: ignore[no-untyped-def]
    _, headers = sweep
    assert client.post(URL, json=body, headers=headers).status_code == 422


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    assert client.post(URL, json={"run_ids": []}).status_code == 401
