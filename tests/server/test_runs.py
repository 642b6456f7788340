"""Runs: visibility, filters, sorting, cursors, cancel rules and recorded state transitions."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from runyard.schemas.tasks import CancelNotice, cancel_channel
from server.runs.models import Run, RunTransition
from server.runs.service import apply_state_event, requeue


@pytest.fixture
def team(make_user: Callable, make_project: Callable, add_member: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    admin, admin_token = make_user()
    project = make_project(admin)
    member, member_token = make_user()
    add_member(project, member, "member")
    viewer, viewer_token = make_user()
    add_member(project, viewer, "viewer")
    return {
        "project": project,
        "admin": (admin, auth(admin_token)),
        "member": (member, auth(member_token)),
        "viewer": (viewer, auth(viewer_token)),
    }


def test_other_teams_run_is_404(
    client: TestClient, team, make_user: Callable, make_run: Callable, auth: Callable
) -> None:  # type: ignore[no-untyped-def]
    run = make_run(team["project"], team["member"][0])
    _, outsider = make_user()
    assert client.get(f"/api/v1/runs/{run.id}", headers=auth(outsider)).status_code == 404
    assert client.get(f"/api/v1/runs/{run.id}", headers=team["viewer"][1]).status_code == 200


def test_list_filters_by_state_and_owner(client: TestClient, team, make_run: Callable) -> None:  # type: ignore[no-untyped-def]
    member, headers = team["member"]
    admin, _ = team["admin"]
    mine = make_run(team["project"], member, state="running")
    make_run(team["project"], member, state="queued")
    make_run(team["project"], admin, state="running")
    page = client.get(
        "/api/v1/runs", params={"state": "running", "owner_id": member.id}, headers=headers
    ).json()
    assert [r["id"] for r in page["items"]] == [mine.id]


def test_list_finds_runs_by_the_first_characters_of_their_id(
    client: TestClient, team, make_user: Callable, make_run: Callable, auth: Callable
) -> None:  # type: ignore[no-untyped-def]
    member, headers = team["member"]
    runs = [make_run(team["project"], member) for _ in range(3)]
    for run in runs:
        page = client.get("/api/v1/runs", params={"id_prefix": run.id[:8].upper()}, headers=headers)
        assert [r["id"] for r in page.json()["items"]] == [run.id]
    _, outsider = make_user()
    hidden = client.get(
        "/api/v1/runs", params={"id_prefix": runs[0].id[:8]}, headers=auth(outsider)
    )
    assert hidden.json()["items"] == []
    bad = client.get("/api/v1/runs", params={"id_prefix": "digits%"}, headers=headers)
    assert bad.status_code == 422


def test_cursor_pagination_walks_every_run_once_in_order(
    client: TestClient,
    team,
    make_run: Callable,  # type: ignore[no-untyped-def]
) -> None:
    member, headers = team["member"]
    made = [make_run(team["project"], member, priority=p % 3) for p in range(7)]
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 3, "sort": "-priority"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/runs", params=params, headers=headers).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(r["id"] for r in seen) == sorted(r.id for r in made)
    priorities = [r["priority"] for r in seen]
    assert priorities == sorted(priorities, reverse=True)


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ4IjoxfQ", "bm90IGpzb24"])
def test_invalid_cursor_is_422(client: TestClient, team, cursor: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/runs", params={"cursor": cursor}, headers=team["member"][1])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_owner_cancels_a_queued_run_at_once(
    client: TestClient,
    team,
    make_run: Callable,  # type: ignore[no-untyped-def]
) -> None:
    member, headers = team["member"]
    run = make_run(team["project"], member)
    response = client.post(f"/api/v1/runs/{run.id}/cancel", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "canceled" and body["finished_at"] is not None
    assert body["transitions"][-1]["from_state"] == "queued"


def test_cancel_of_a_running_run_is_recorded_and_announced(
    client: TestClient,
    team,
    make_run: Callable,
    redis_client: Redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    member, headers = team["member"]
    run = make_run(team["project"], member, state="running")
    pubsub = redis_client.pubsub()
    pubsub.subscribe(cancel_channel(settings.redis_prefix))
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    body = client.post(f"/api/v1/runs/{run.id}/cancel", headers=headers).json()
    assert body["state"] == "running" and body["cancel_requested_at"] is not None
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    assert message is not None
    notice = CancelNotice.model_validate_json(message["data"])
    assert (notice.run_id, notice.attempt) == (run.id, 1)


def test_viewer_cannot_cancel(client: TestClient, team, make_run: Callable) -> None:  # type: ignore[no-untyped-def]
    run = make_run(team["project"], team["member"][0])
    response = client.post(f"/api/v1/runs/{run.id}/cancel", headers=team["viewer"][1])
    assert response.status_code == 403


def test_member_cannot_cancel_someone_elses_run_but_project_admin_can(
    client: TestClient,
    team,
    make_user: Callable,
    add_member: Callable,
    make_run: Callable,
    auth: Callable,  # type: ignore[no-untyped-def]
) -> None:
    other, other_token = make_user()
    add_member(team["project"], other, "member")
    run = make_run(team["project"], team["member"][0])
    assert (
        client.post(f"/api/v1/runs/{run.id}/cancel", headers=auth(other_token)).status_code == 403
    )
    assert client.post(f"/api/v1/runs/{run.id}/cancel", headers=team["admin"][1]).status_code == 200


def test_cancel_of_a_finished_run_is_409(client: TestClient, team, make_run: Callable) -> None:  # type: ignore[no-untyped-def]
    run = make_run(team["project"], team["member"][0], state="completed")
    response = client.post(f"/api/v1/runs/{run.id}/cancel", headers=team["member"][1])
    assert response.status_code == 409


def test_state_events_move_the_run_and_are_recorded(
    session: Session,
    team,
    make_run: Callable,  # type: ignore[no-untyped-def]
) -> None:
    run = make_run(team["project"], team["member"][0], state="scheduled")
    assert apply_state_event(session, run.id, 1, RunState.running)
    assert apply_state_event(session, run.id, 1, RunState.failed, "boom", "Traceback ...")
    session.commit()
    stored = session.get(Run, run.id)
    session.refresh(stored)
    assert stored.state == "failed" and stored.traceback == "Traceback ..."
    assert stored.started_at is not None and stored.finished_at is not None
    transitions = session.scalars(
        select(RunTransition.to_state).where(RunTransition.run_id == run.id)
    ).all()
    assert sorted(transitions) == ["failed", "running"]


def test_stale_attempts_and_illegal_transitions_are_ignored(
    session: Session,
    team,
    make_run: Callable,  # type: ignore[no-untyped-def]
) -> None:
    run = make_run(team["project"], team["member"][0], state="running", attempt=2)
    assert not apply_state_event(session, run.id, 1, RunState.completed)
    assert not apply_state_event(session, run.id, 2, RunState.scheduled)
    assert not apply_state_event(session, "no-such-run", 1, RunState.running)
    session.commit()
    session.refresh(run)
    assert run.state == "running"


def test_requeue_starts_the_next_attempt_and_frees_the_placement(
    session: Session,
    team,
    make_run: Callable,  # type: ignore[no-untyped-def]
) -> None:
    run = make_run(
        team["project"], team["member"][0], state="running", worker_id="w-1", devices=[0, 1]
    )
    assert requeue(session, run, "worker lost")
    session.commit()
    session.refresh(run)
    assert (run.state, run.attempt, run.worker_id, run.devices) == ("queued", 2, None, [])
    # An event from the lost attempt no longer moves the run.
    assert not apply_state_event(session, run.id, 1, RunState.failed)


def test_global_admin_reads_and_cancels_any_run(
    client: TestClient,
    team,
    make_user: Callable,
    make_run: Callable,
    auth: Callable,  # type: ignore[no-untyped-def]
) -> None:
    _, admin_token = make_user(is_admin=True)
    run = make_run(team["project"], team["member"][0])
    assert client.get(f"/api/v1/runs/{run.id}", headers=auth(admin_token)).status_code == 200
    response = client.post(f"/api/v1/runs/{run.id}/cancel", headers=auth(admin_token))
    assert response.status_code == 200 and response.json()["state"] == "canceled"
