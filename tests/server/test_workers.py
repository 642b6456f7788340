"""POST /api/v1/worker/heartbeat and GET /api/v1/workers."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from runyard.schemas.states import RunState


def _beat(name: str = "worker-1", slots: int = 2) -> dict:
    return {
        "name": name,
        "queue": f"runyard.worker.{name}",
        "hostname": "gpu-box",
        "slots_total": slots,
        "slots": [str(i) for i in range(slots)],
        "gpu_names": ["NVIDIA H100"] * slots,
        "incarnation": "i-1",
        "address": "10.0.0.5",
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_heartbeat_registers_the_worker_and_users_see_it(
    client: TestClient, make_worker_token: Callable, make_user: Callable
) -> None:
    response = client.post(
        "/api/v1/worker/heartbeat", json=_beat(), headers=_bearer(make_worker_token())
    )
    assert response.status_code == 200
    _, user_token = make_user()
    workers = client.get("/api/v1/workers", headers=_bearer(user_token)).json()
    assert [(w["name"], w["slots_total"], w["gpu_names"]) for w in workers] == [
        ("worker-1", 2, ["NVIDIA H100", "NVIDIA H100"])
    ]


def test_repeated_heartbeats_update_one_worker(
    client: TestClient, make_worker_token: Callable, make_user: Callable
) -> None:
    token = make_worker_token()
    client.post("/api/v1/worker/heartbeat", json=_beat(slots=2), headers=_bearer(token))
    client.post("/api/v1/worker/heartbeat", json=_beat(slots=4), headers=_bearer(token))
    _, user_token = make_user()
    workers = client.get("/api/v1/workers", headers=_bearer(user_token)).json()
    assert [w["slots_total"] for w in workers] == [4]


def test_a_worker_token_cannot_heartbeat_for_another_worker(
    client: TestClient, make_worker_token: Callable
) -> None:
    response = client.post(
        "/api/v1/worker/heartbeat", json=_beat(name="other"), headers=_bearer(make_worker_token())
    )
    assert response.status_code == 403


def test_user_and_run_tokens_cannot_heartbeat(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    make_run_token: Callable,
) -> None:
    user, user_token = make_user()
    run = make_run(make_project(user), user, state=RunState.running)
    for token in (user_token, make_run_token(run)):
        response = client.post("/api/v1/worker/heartbeat", json=_beat(), headers=_bearer(token))
        assert response.status_code == 403


def test_worker_tokens_cannot_list_workers(client: TestClient, make_worker_token: Callable) -> None:
    assert client.get("/api/v1/workers", headers=_bearer(make_worker_token())).status_code == 403


def test_heartbeat_without_token_is_401(client: TestClient) -> None:
    assert client.post("/api/v1/worker/heartbeat", json=_beat()).status_code == 401


def test_malformed_heartbeat_is_422(client: TestClient, make_worker_token: Callable) -> None:
    body = {**_beat(), "slots_total": -1}
    response = client.post(
        "/api/v1/worker/heartbeat", json=body, headers=_bearer(make_worker_token())
    )
    assert response.status_code == 422


def test_nul_in_a_heartbeat_is_422(client: TestClient, make_worker_token: Callable) -> None:
    body = {**_beat(), "hostname": "bad\x00host"}
    response = client.post(
        "/api/v1/worker/heartbeat", json=body, headers=_bearer(make_worker_token())
    )
    assert response.status_code == 422
