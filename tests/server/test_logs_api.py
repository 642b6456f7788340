"""GET /api/v1/runs/{id}/logs: paged by line id, filtered by text, readable runs only."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.runs.models import Run
from tests.server.ingest_helpers import log_event, store


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0])


def test_pages_follow_each_other_without_gaps_or_repeats(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(
        session,
        *[log_event(run, seq, [f"line {seq}.{i}" for i in range(10)]) for seq in range(5)],
    )
    seen: list[str] = []
    after = 0
    while True:
        page = client.get(
            f"/api/v1/runs/{run.id}/logs",
            params={"after": after, "limit": 7},
            headers=auth(owner[1]),
        ).json()
        seen += [line["text"] for line in page["lines"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [f"line {seq}.{i}" for seq in range(5) for i in range(10)]


def test_q_keeps_only_lines_containing_the_text(
    client: TestClient, session: Session, run: Run, owner: tuple, auth: Callable
) -> None:
    store(session, log_event(run, 0, ["Epoch 1 loss=0.5", "warning: 100% done", "epoch 2"]))
    url = f"/api/v1/runs/{run.id}/logs"

    def texts(q: str) -> list[str]:
        page = client.get(url, params={"q": q}, headers=auth(owner[1])).json()
        return [line["text"] for line in page["lines"]]

    assert texts("epoch") == ["Epoch 1 loss=0.5", "epoch 2"]
    assert texts("100%") == ["warning: 100% done"]


def test_another_teams_run_logs_are_not_found(
    client: TestClient, session: Session, run: Run, make_user: Callable, auth: Callable
) -> None:
    store(session, log_event(run, 0, ["secret"]))
    _, stranger = make_user()
    assert client.get(f"/api/v1/runs/{run.id}/logs", headers=auth(stranger)).status_code == 404


def test_a_worker_token_cannot_read_logs(
    client: TestClient, run: Run, make_worker_token: Callable
) -> None:
    headers = {"Authorization": f"Bearer {make_worker_token()}"}
    assert client.get(f"/api/v1/runs/{run.id}/logs", headers=headers).status_code == 403


def test_a_nul_in_the_filter_is_422_not_a_server_error(
    client: TestClient, run: Run, owner: tuple, auth: Callable
) -> None:
    response = client.get(
        f"/api/v1/runs/{run.id}/logs", params={"q": "a\x00b"}, headers=auth(owner[1])
    )
    assert response.status_code == 422
