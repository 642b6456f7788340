"""GET /api/v1/cluster: workers and slot holders, the queue in scheduling order, user shares."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.attempts.models import AttemptNode, RunAttempt
from server.cluster.service import OTHER_TEAMS
from server.db import utcnow
from server.workers.models import Worker

Auth = Callable[[str], dict[str, str]]


def _worker(session: Session, name: str = "gpu-node-1", slots: int = 2) -> Worker:
    worker = Worker(name=name, queue=f"q-{name}", hostname=name, slots_total=slots)
    worker.last_heartbeat = utcnow()
    session.add(worker)
    session.commit()
    return worker


@pytest.fixture
def team(make_user: Callable[..., Any], make_project: Callable[..., Any]) -> Any:
    user, token = make_user()
    return user, token, make_project(user, name="vision")


def _cluster(client: TestClient, token: str, auth: Auth) -> dict[str, Any]:
    response = client.get("/api/v1/cluster", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_cluster_shows_each_slot_and_the_run_holding_it(
    client: TestClient, session: Session, team: Any, make_run: Callable[..., Any], auth: Auth
) -> None:
    user, token, project = team
    worker = _worker(session, slots=2)
    run = make_run(
        project, user, state="running", worker_id=worker.id, devices=[1], placed_on=worker.name
    )

    body = _cluster(client, token, auth)

    [shown] = body["workers"]
    assert shown["name"] == "gpu-node-1" and shown["alive"] is True
    slots = {s["slot"]: s["holder"] for s in shown["slots"]}
    assert slots["0"] is None
    assert slots["1"]["run_id"] == run.id
    assert slots["1"]["owner"] == user.email
    assert slots["1"]["project"] == "vision"


def test_cluster_hides_other_teams_runs_but_shows_their_slots_taken(
    client: TestClient,
    session: Session,
    team: Any,
    make_user: Callable[..., Any],
    make_project: Callable[..., Any],
    make_run: Callable[..., Any],
    auth: Auth,
) -> None:
    _, token, _ = team
    outsider, _ = make_user()
    elsewhere = make_project(outsider, name="secret-project")
    worker = _worker(session, slots=1)
    make_run(
        elsewhere,
        outsider,
        state="running",
        worker_id=worker.id,
        devices=[0],
        placed_on=worker.name,
    )
    make_run(elsewhere, outsider, state="queued")

    body = _cluster(client, token, auth)

    holder = body["workers"][0]["slots"][0]["holder"]
    assert holder == {
        "run_id": None,
        "experiment_name": None,
        "owner": None,
        "project": None,
        "state": "running",
    }
    [entry] = body["queue"]
    assert entry["run_id"] is None and entry["owner"] is None and entry["project"] is None
    assert outsider.email not in str(body)
    assert "secret-project" not in str(body)


def test_queue_lists_higher_priority_first(
    client: TestClient, team: Any, make_run: Callable[..., Any], auth: Auth
) -> None:
    user, token, project = team
    low = make_run(project, user, priority=0)
    high = make_run(project, user, priority=5)

    body = _cluster(client, token, auth)

    assert [e["run_id"] for e in body["queue"]] == [high.id, low.id]
    assert [e["position"] for e in body["queue"]] == [1, 2]
    assert body["queue_total"] == 2


def test_queue_puts_the_user_with_less_recent_gpu_time_first(
    client: TestClient,
    session: Session,
    team: Any,
    make_user: Callable[..., Any],
    add_member: Callable[..., Any],
    make_run: Callable[..., Any],
    auth: Auth,
) -> None:
    heavy, token, project = team
    light, _ = make_user()
    add_member(project, light, "member")
    now = utcnow()
    done = make_run(
        project,
        heavy,
        state="completed",
        started_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=1),
    )
    attempt = RunAttempt(run_id=done.id, attempt=1, created_at=now - timedelta(hours=2))
    session.add(attempt)
    session.flush()
    session.add(  # its slot was held for that hour: the GPU time fair share counts
        AttemptNode(
            fence=attempt.fence,
            node_rank=0,
            worker_name="gpu-1",
            slots=["0"],
            dispatched_at=now - timedelta(hours=2),
            released_at=now - timedelta(hours=1),
        )
    )
    session.commit()
    heavy_queued = make_run(project, heavy, queued_at=now - timedelta(minutes=10))
    light_queued = make_run(project, light, queued_at=now)

    body = _cluster(client, token, auth)

    assert [e["run_id"] for e in body["queue"]] == [light_queued.id, heavy_queued.id]
    shares = {s["user"]: s for s in body["users"]}
    assert shares[heavy.email]["share"] == pytest.approx(1.0)
    assert shares[heavy.email]["recent_gpu_seconds"] == pytest.approx(3600, rel=0.01)


def test_queue_marks_a_run_that_can_start_now_and_one_over_its_quota(
    client: TestClient,
    session: Session,
    team: Any,
    make_run: Callable[..., Any],
    auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNYARD_SCHEDULER_DEFAULT_USER_QUOTA", "1")
    user, token, project = team
    worker = _worker(session, slots=4)
    make_run(project, user, state="running", worker_id=worker.id, devices=[0])
    make_run(project, user)

    [entry] = _cluster(client, token, auth)["queue"]

    assert entry["reason"] == "over_quota"
    assert "1-slot quota" in entry["note"] and entry["wait_seconds"] is None


def test_queue_marks_a_run_that_fits_as_starting(
    client: TestClient, session: Session, team: Any, make_run: Callable[..., Any], auth: Auth
) -> None:
    user, token, project = team
    _worker(session, slots=1)
    make_run(project, user)

    [entry] = _cluster(client, token, auth)["queue"]

    assert entry["reason"] == "starting" and entry["wait_seconds"] == 0


def test_other_teams_usage_is_summed_without_names(
    client: TestClient,
    session: Session,
    team: Any,
    make_user: Callable[..., Any],
    make_project: Callable[..., Any],
    make_run: Callable[..., Any],
    auth: Auth,
) -> None:
    _, token, _ = team
    worker = _worker(session, slots=2)
    for slot in range(2):
        outsider, _ = make_user()
        project = make_project(outsider)
        make_run(
            project,
            outsider,
            state="running",
            worker_id=worker.id,
            devices=[slot],
            started_at=utcnow() - timedelta(minutes=5),
        )

    users = _cluster(client, token, auth)["users"]

    assert [u["user"] for u in users] == [OTHER_TEAMS]
    assert users[0]["slots_in_use"] == 2
    assert users[0]["quota"] is None


def test_one_queued_run_says_where_it_stands_and_a_running_one_is_409(
    client: TestClient, session: Session, team: Any, make_run: Callable[..., Any], auth: Auth
) -> None:
    user, token, project = team
    worker = _worker(session, slots=1)
    busy = make_run(
        project, user, state="running", worker_id=worker.id, devices=[0], placed_on=worker.name
    )
    waiting = make_run(project, user)

    entry = client.get(f"/api/v1/runs/{waiting.id}/queue", headers=auth(token)).json()
    assert (entry["position"], entry["user_position"], entry["reason"]) == (
        1,
        1,
        "no_node_with_free_slots",
    )
    assert client.get(f"/api/v1/runs/{busy.id}/queue", headers=auth(token)).status_code == 409
