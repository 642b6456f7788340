"""Authentication: what a missing, malformed, revoked or expired token gets, and token kinds."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.security import hash_token
from server.users.models import ApiToken

ME = "/api/v1/users/me"


def _assert_401_with_bearer_challenge(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"]


def test_missing_token_is_401_with_bearer_challenge(client: TestClient) -> None:
    _assert_401_with_bearer_challenge(client.get(ME))


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer ry_user_short", "Basic dXNlcjpwdw==", "Bearer ry_root_" + "a" * 40],
)
def test_malformed_token_is_401(client: TestClient, header: str) -> None:
    _assert_401_with_bearer_challenge(client.get(ME, headers={"Authorization": header}))


def test_well_formed_but_unknown_token_is_401(client: TestClient) -> None:
    _assert_401_with_bearer_challenge(
        client.get(ME, headers={"Authorization": "Bearer ry_user_" + "x" * 43})
    )


def test_revoked_token_is_401(
    client: TestClient, session: Session, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    row.revoked_at = utcnow()
    session.commit()
    _assert_401_with_bearer_challenge(client.get(ME, headers=auth(token)))


def test_expired_token_is_401(
    client: TestClient, session: Session, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    _assert_401_with_bearer_challenge(client.get(ME, headers=auth(token)))


def test_valid_user_token_reaches_user_routes(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    user, token = make_user()
    response = client.get(ME, headers=auth(token))
    assert response.status_code == 200
    assert response.json()["id"] == user.id


def test_worker_token_is_refused_on_user_routes(
    client: TestClient, make_worker_token: Callable, auth: Callable
) -> None:
    response = client.get(ME, headers=auth(make_worker_token()))
    assert response.status_code == 403
    assert "worker" in response.json()["detail"]


def test_user_token_is_refused_on_worker_routes(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    response = client.get("/api/v1/worker/runs/some-run/bundle", headers=auth(token))
    assert response.status_code == 403


def test_tokens_are_stored_only_as_sha256(
    client: TestClient, session: Session, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=auth(token)).json()
    stored = session.get(ApiToken, created["id"])
    assert stored is not None
    assert stored.token_hash == hash_token(created["token"])
    assert created["token"] not in {stored.token_hash, stored.name}
