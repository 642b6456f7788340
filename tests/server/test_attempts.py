"""Attempts and fencing at the server: tokens and workers reach only the attempt they hold,
uploads of an ended or superseded attempt are refused with the reason, a node is taken before
it starts and never after its attempt ended, and heartbeats release slots only once the worker
confirms the attempt's processes are gone."""

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from runyard.schemas import RunState
from server.attempts.models import AttemptNode
from server.attempts.service import current_attempt
from server.db import utcnow
from server.runs.models import Run
from server.runs.service import requeue, transition


def _upload(client: TestClient, headers: dict, run_id: str, fence: int | None = None):
    content = b"weights"
    form = {"attempt": "1", "epoch": "0", "step": "1"}
    if fence is not None:
        form["fence"] = str(fence)
    return client.post(
        f"/api/v1/worker/runs/{run_id}/checkpoints",
        headers={**headers, "X-Content-SHA256": hashlib.sha256(content).hexdigest()},
        data=form,
        files={"file": ("x.ckpt", content, "application/octet-stream")},
    )


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def running(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0], state=RunState.running)


def _fence(session: Session, run: Run) -> int:
    attempt = current_attempt(session, run)
    assert attempt is not None
    return attempt.fence


def test_an_upload_of_a_superseded_attempt_is_409_naming_the_attempt_that_took_over(
    client: TestClient, session: Session, running: Run, make_worker_token: Callable, auth, place
) -> None:
    headers = auth(make_worker_token())
    old = _fence(session, running)
    assert _upload(client, headers, running.id, old).status_code == 200
    requeue(session, running, "its worker stopped sending heartbeats")
    session.commit()
    place(running)
    refused = _upload(client, headers, running.id, old)
    assert refused.status_code == 409
    assert (
        "attempt 1" in refused.json()["detail"]
        and "superseded by attempt 2" in (refused.json()["detail"])
    )
    assert _upload(client, headers, running.id, _fence(session, running)).status_code == 200


def test_a_run_token_expires_with_its_attempt(
    client: TestClient, session: Session, running: Run, make_run_token: Callable, auth
) -> None:
    token = auth(make_run_token(running))
    assert _upload(client, token, running.id).status_code == 200
    transition(session, running, RunState.completed, "completed")
    session.commit()
    after = _upload(client, token, running.id)
    assert after.status_code == 409
    assert "expired with its attempt" in after.json()["detail"]
    assert "completed" in after.json()["detail"]


def test_a_worker_token_reaches_only_runs_placed_on_its_worker(
    client: TestClient,
    session: Session,
    owner: tuple,
    make_project: Callable,
    make_run: Callable,
    make_worker_token: Callable,
    auth,
) -> None:
    elsewhere = make_run(make_project(owner[0]), owner[0], state="running", placed_on="other")
    headers = auth(make_worker_token("worker-1"))
    refused = _upload(client, headers, elsewhere.id)
    assert refused.status_code == 403
    assert "does not hold run" in refused.json()["detail"]
    bundle = client.get(f"/api/v1/worker/runs/{elsewhere.id}/bundle", headers=headers)
    assert bundle.status_code == 403
    own = make_run(make_project(owner[0]), owner[0], state="running")
    record = _upload(client, headers, own.id).json()
    download = f"/api/v1/checkpoints/{record['id']}/download"
    assert client.get(download, headers=headers).status_code == 200
    other_worker = auth(make_worker_token("other"))
    assert client.get(download, headers=other_worker).status_code == 403


def test_a_node_is_taken_once_and_never_after_its_attempt_ended(
    client: TestClient,
    session: Session,
    owner: tuple,
    make_project: Callable,
    make_run: Callable,
    make_worker_token: Callable,
    auth,
) -> None:
    run = make_run(make_project(owner[0]), owner[0], state="scheduled")
    fence = _fence(session, run)
    url = f"/api/v1/worker/attempts/{fence}/accept"
    other = client.post(url, json={"incarnation": "i"}, headers=auth(make_worker_token("other")))
    assert other.status_code == 403
    taken = client.post(url, json={"incarnation": "i"}, headers=auth(make_worker_token()))
    assert taken.status_code == 200 and taken.json()["run_id"] == run.id
    transition(session, run, RunState.canceled, "canceled by ann")
    session.commit()
    late = client.post(url, json={"incarnation": "i"}, headers=auth(make_worker_token()))
    assert late.status_code == 409
    assert "canceled by ann" in late.json()["detail"]


def _beat(fences: list[tuple[str, int]], since=None, lost=()) -> dict:
    return {
        "name": "worker-1",
        "queue": "worker.worker-1",
        "slots_total": 1,
        "incarnation": "i-1",
        "attempts": [{"run_id": r, "fence": f} for r, f in fences],
        "lost": [{"run_id": r, "fence": f} for r, f in lost],
        "since": since,
    }


def test_heartbeats_free_a_slot_only_after_the_worker_confirms_its_attempt_stopped(
    client: TestClient, session: Session, running: Run, make_worker_token: Callable, auth
) -> None:
    headers = auth(make_worker_token())
    fence = _fence(session, running)
    first = client.post(
        "/api/v1/worker/heartbeat", json=_beat([(running.id, fence)]), headers=headers
    ).json()
    assert first["ended"] == [] and first["cancel"] == []
    running.cancel_requested_at = utcnow()
    session.commit()
    asked = client.post(
        "/api/v1/worker/heartbeat", json=_beat([(running.id, fence)]), headers=headers
    ).json()
    assert asked["cancel"] == [fence]
    transition(session, running, RunState.canceled, "canceled by ann")
    session.commit()

    still = client.post(
        "/api/v1/worker/heartbeat", json=_beat([(running.id, fence)]), headers=headers
    ).json()
    assert still["ended"] == [fence]
    node = session.get(AttemptNode, (fence, 0), populate_existing=True)
    assert node is not None and node.released_at is None  # the worker still holds it

    # A report taken before the node was accepted proves nothing...
    early = (node.seen_at - timedelta(seconds=1)).isoformat()
    client.post("/api/v1/worker/heartbeat", json=_beat([], since=early), headers=headers)
    assert session.get(AttemptNode, (fence, 0), populate_existing=True).released_at is None
    # ...one taken after the last answer, without the node, does.
    gone = client.post(
        "/api/v1/worker/heartbeat", json=_beat([], since=still["server_time"]), headers=headers
    )
    assert gone.status_code == 200
    released = session.get(AttemptNode, (fence, 0), populate_existing=True)
    assert released.released_at is not None
    assert released.release_reason == "its worker confirmed it stopped"


def test_a_node_its_worker_gives_up_is_released_and_marked_lost(
    client: TestClient, session: Session, running: Run, make_worker_token: Callable, auth
) -> None:
    fence = _fence(session, running)
    beat = _beat([], lost=[(running.id, fence)])
    answer = client.post("/api/v1/worker/heartbeat", json=beat, headers=auth(make_worker_token()))
    assert answer.status_code == 200 and answer.json()["ended"] == []
    node = session.get(AttemptNode, (fence, 0), populate_existing=True)
    assert node.lost_at is not None and node.released_at is not None


def test_a_run_shows_that_its_worker_does_not_isolate_runs(
    client: TestClient, session: Session, running: Run, owner: tuple, make_worker_token, auth
) -> None:
    beat = _beat([]) | {"isolation": "none"}
    client.post("/api/v1/worker/heartbeat", json=beat, headers=auth(make_worker_token()))
    worker = client.get("/api/v1/workers", headers=auth(owner[1])).json()[0]
    running.worker_id = worker["id"]
    session.commit()
    detail = client.get(f"/api/v1/runs/{running.id}", headers=auth(owner[1])).json()
    assert detail["isolation"] == "none" and worker["isolation"] == "none"
