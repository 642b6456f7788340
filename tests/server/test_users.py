"""Users and tokens: admins create users, tokens are shown once, revoked tokens stop working."""

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_admin_creates_a_user_whose_first_token_works(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, admin = make_user(is_admin=True)
    response = client.post(
        "/api/v1/users", json={"email": "Ada@Example.test", "name": "Ada"}, headers=auth(admin)
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "ada@example.test"
    me = client.get("/api/v1/users/me", headers=auth(body["token"]))
    assert me.json()["name"] == "Ada"


def test_non_admin_cannot_create_users(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    response = client.post(
        "/api/v1/users", json={"email": "x@example.test", "name": "X"}, headers=auth(token)
    )
    assert response.status_code == 403


def test_duplicate_email_is_a_conflict(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, admin = make_user(is_admin=True)
    body = {"email": "dup@example.test", "name": "Dup"}
    assert client.post("/api/v1/users", json=body, headers=auth(admin)).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=auth(admin)).status_code == 409


def test_token_secret_is_shown_once_and_never_listed(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=auth(token)).json()
    assert created["token"].startswith("ry_user_")
    listed = client.get("/api/v1/tokens", headers=auth(token)).json()
    assert {t["id"] for t in listed} >= {created["id"]}
    assert all("token" not in t for t in listed)


def test_revoked_token_stops_working(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    created = client.post("/api/v1/tokens", json={"name": "tmp"}, headers=auth(token)).json()
    revoke = client.delete(f"/api/v1/tokens/{created['id']}", headers=auth(token))
    assert revoke.status_code == 204
    assert client.get("/api/v1/users/me", headers=auth(created["token"])).status_code == 401


def test_cannot_revoke_another_users_token(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, mine = make_user()
    _, theirs = make_user()
    created = client.post("/api/v1/tokens", json={"name": "x"}, headers=auth(theirs)).json()
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=auth(mine)).status_code == 404


def test_only_admins_issue_worker_tokens(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, user = make_user()
    _, admin = make_user(is_admin=True)
    body = {"name": "gpu-node-1", "kind": "worker", "worker_name": "gpu-node-1"}
    assert client.post("/api/v1/tokens", json=body, headers=auth(user)).status_code == 403
    created = client.post("/api/v1/tokens", json=body, headers=auth(admin))
    assert created.status_code == 201
    assert created.json()["token"].startswith("ry_worker_")


def test_a_token_can_be_given_a_lifetime_and_lists_its_expiry(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    from datetime import UTC, datetime, timedelta

    _, token = make_user()
    created = client.post(
        "/api/v1/tokens", json={"name": "laptop", "expires_in_days": 30}, headers=auth(token)
    ).json()
    expires = datetime.fromisoformat(created["expires_at"].replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((expires - expected).total_seconds()) < 120
    [listed] = [
        t for t in client.get("/api/v1/tokens", headers=auth(token)).json() if t["name"] == "laptop"
    ]
    assert listed["expires_at"] == created["expires_at"] and listed["revoked_at"] is None
    assert client.get("/api/v1/users/me", headers=auth(created["token"])).status_code == 200


def test_a_lifetime_out_of_range_is_422_naming_the_field(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    for days in (0, 4000):
        response = client.post(
            "/api/v1/tokens", json={"name": "x", "expires_in_days": days}, headers=auth(token)
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "expires_in_days"]
