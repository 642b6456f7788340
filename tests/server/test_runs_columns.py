"""The runs list's metric and param columns, sort by any of them (NULLs last, stable across
cursor pages) and the filter language, whose mistakes are 422s that point at the position."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.metrics.models import MetricSeries
from server.runs.filter_expr import And, Compare, Field, FilterError, Not, Or, parse_filter
from server.runs.models import Run
from server.runs.repository import store_params

URL = "/api/v1/runs"


@pytest.fixture
def lab(
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    session: Session,
    auth: Callable,
):  # type: ignore[no-untyped-def]
    """Six runs: acc and lr per run (None: the run has no such metric or param)."""
    user, token = make_user()
    project = make_project(user)
    table = [
        (0.95, 0.01, "adam"),
        (0.80, 0.001, "sgd"),
        (0.95, 0.1, "adam"),
        (None, 0.05, None),
        (0.99, None, "sgd"),
        (0.50, 0.01, "adam"),
    ]
    runs: list[Run] = []
    for acc, lr, optim in table:
        run = make_run(project, user)
        if acc is not None:
            session.add(
                MetricSeries(
                    run_id=run.id,
                    key="val_acc",
                    points=3,
                    first_step=0,
                    last_step=2,
                    last_value=acc,
                    min_step=0,
                    min_value=acc - 0.2,
                    max_step=2,
                    max_value=acc,
                )
            )
        params: dict[str, Any] = {}
        if lr is not None:
            params["model.lr"] = lr
        if optim is not None:
            params["model.optim"] = optim
        store_params(session, run.id, params)
        session.commit()
        runs.append(run)
    return runs, auth(token)


def _ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["items"]]


def test_columns_carry_metric_summaries_and_params(client: TestClient, lab) -> None:  # type: ignore[no-untyped-def]
    runs, headers = lab
    body = client.get(
        URL,
        params={"columns": ["metrics.val_acc,metrics.val_acc.min", "params.model.lr"]},
        headers=headers,
    ).json()
    assert body["columns"] == ["metrics.val_acc", "metrics.val_acc.min", "params.model.lr"]
    by_id = {r["id"]: r["columns"] for r in body["items"]}
    assert by_id[runs[0].id] == {
        "metrics.val_acc": 0.95,
        "metrics.val_acc.min": pytest.approx(0.75),
        "params.model.lr": 0.01,
    }
    assert by_id[runs[3].id]["metrics.val_acc"] is None
    assert by_id[runs[4].id]["params.model.lr"] is None


def test_sort_by_a_metric_puts_runs_without_it_last_both_ways(client: TestClient, lab) -> None:  # type: ignore[no-untyped-def]
    runs, headers = lab
    ids = [r.id for r in runs]
    down = _ids(client, headers, sort="-metrics.val_acc")
    tie = sorted([ids[0], ids[2]], reverse=True)
    assert down == [ids[4], *tie, ids[1], ids[5], ids[3]]
    up = _ids(client, headers, sort="metrics.val_acc")
    assert up == [ids[5], ids[1], *sorted([ids[0], ids[2]]), ids[4], ids[3]]


@pytest.mark.parametrize(
    "sort",
    [
        "-metrics.val_acc",
        "metrics.val_acc.min",
        "params.model.lr",
        "-params.model.lr",
        "params.model.optim",
        "-created_at",
    ],
)
def test_cursor_pages_of_any_sort_add_up_to_the_whole_list(
    client: TestClient, lab, sort: str
) -> None:  # type: ignore[no-untyped-def]
    _, headers = lab
    whole = _ids(client, headers, sort=sort)
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = client.get(URL, params=params, headers=headers).json()
        paged += [r["id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == whole and len(whole) == 6


def test_filter_combines_metrics_and_params(client: TestClient, lab) -> None:  # type: ignore[no-untyped-def]
    runs, headers = lab
    ids = [r.id for r in runs]
    found = _ids(client, headers, filter="metrics.val_acc > 0.9 and params.model.lr < 0.05")
    assert found == [ids[0]]
    either = _ids(
        client,
        headers,
        filter="(metrics.val_acc >= 0.99 or params.model.optim = 'sgd')",
        sort="created_at",
    )
    assert set(either) == {ids[1], ids[4]}
    negated = _ids(client, headers, filter='not params.model.optim = "adam"')
    assert set(negated) == {ids[1], ids[4]}  # a run without the param never matches
    assert set(_ids(client, headers, filter="metrics.val_acc.min < 0.5")) == {ids[5]}
    assert set(_ids(client, headers, filter="state = 'queued' and priority = 0")) == set(ids)
    assert set(_ids(client, headers, filter="experiment = 'digits' and metrics.val_acc > 0.9")) == {
        ids[0],
        ids[2],
        ids[4],
    }


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("metrics.val_acc >> 0.9", 18, "expected a number"),
        ("metrics.val_acc > 0.9 and", 26, "expected a field"),
        ("metrics.val_acc > 'high'", 19, "is a number"),
        ("(params.lr < 1", 15, "expected ')'"),
        ("speed > 3", 1, "unknown field"),
        ("params.x = 'open", 12, "unterminated string"),
        ("state = 'sleeping'", 9, "state is one of"),
    ],
)
def test_a_bad_filter_is_a_422_that_points_at_the_error(
    client: TestClient, lab, text: str, position: int, words: str
) -> None:  # type: ignore[no-untyped-def]
    _, headers = lab
    response = client.get(URL, params={"filter": text}, headers=headers)
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["loc"] == ["query", "filter"]
    assert words in problem["msg"] and f"at character {position}" in problem["msg"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"sort": "-metrics."}, ["query", "sort"]),
        ({"sort": "state"}, ["query", "sort"]),
        ({"columns": "priority"}, ["query", "columns", 0]),
    ],
)
def test_bad_sort_or_columns_are_422(
    client: TestClient, lab, params: dict[str, str], loc: list[Any]
) -> None:  # type: ignore[no-untyped-def]
    _, headers = lab
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_a_cursor_of_a_metric_sort_is_refused_by_another_sort(client: TestClient, lab) -> None:  # type: ignore[no-untyped-def]
    _, headers = lab
    cursor = client.get(
        URL, params={"sort": "metrics.val_acc", "limit": 1}, headers=headers
    ).json()["next_cursor"]
    response = client.get(
        URL, params={"sort": "-metrics.val_acc", "cursor": cursor}, headers=headers
    )
    assert response.status_code == 422


def test_the_parser_builds_precedence_and_or_not() -> None:
    expr = parse_filter("not metrics.a < 1 or params.b = 'x' and priority >= -2")
    a = Compare(Field("metric", "a"), "<", 1.0, 16)
    b = Compare(Field("param", "b"), "=", "x", 32)
    c = Compare(Field("attr", "priority"), ">=", -2.0, 52)
    assert expr == Or(Not(a), And(b, c))
    assert parse_filter("metrics.`val loss`.max != 2e-3") == Compare(
        Field("metric", "val loss", "max"), "!=", 0.002, 26
    )


def test_the_parser_refuses_anything_else_with_a_filter_error() -> None:
    for text in ["", "(", "metrics.a <", "metrics.a < 1 1", "params.a = true or", "a.b.c = 1"]:
        with pytest.raises(FilterError):
            parse_filter(text)
