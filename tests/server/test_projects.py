"""Projects and membership: creators are admins, only admins manage members, outsiders see 404."""

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_creator_becomes_project_admin(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    created = client.post("/api/v1/projects", json={"name": "vision"}, headers=auth(token))
    assert created.status_code == 201
    assert created.json()["role"] == "admin"
    listed = client.get("/api/v1/projects", headers=auth(token)).json()
    assert [p["name"] for p in listed] == ["vision"]


def test_outsider_gets_404_for_a_project(
    client: TestClient, make_user: Callable, make_project: Callable, auth: Callable
) -> None:
    owner, _ = make_user()
    _, outsider = make_user()
    project = make_project(owner)
    assert client.get(f"/api/v1/projects/{project.id}", headers=auth(outsider)).status_code == 404
    assert client.get("/api/v1/projects", headers=auth(outsider)).json() == []


def test_project_admin_adds_a_member_by_email(
    client: TestClient, make_user: Callable, make_project: Callable, auth: Callable
) -> None:
    owner, owner_token = make_user()
    newcomer, newcomer_token = make_user()
    project = make_project(owner)
    response = client.post(
        f"/api/v1/projects/{project.id}/members",
        json={"email": newcomer.email, "role": "viewer"},
        headers=auth(owner_token),
    )
    assert response.status_code == 200
    seen = client.get(f"/api/v1/projects/{project.id}", headers=auth(newcomer_token)).json()
    assert seen["role"] == "viewer"


def test_members_cannot_manage_membership(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    add_member: Callable,
    auth: Callable,
) -> None:
    owner, _ = make_user()
    member, member_token = make_user()
    other, _ = make_user()
    project = make_project(owner)
    add_member(project, member, "member")
    response = client.post(
        f"/api/v1/projects/{project.id}/members",
        json={"user_id": other.id, "role": "member"},
        headers=auth(member_token),
    )
    assert response.status_code == 403


def test_the_last_admin_cannot_be_removed(
    client: TestClient, make_user: Callable, make_project: Callable, auth: Callable
) -> None:
    owner, token = make_user()
    project = make_project(owner)
    response = client.delete(
        f"/api/v1/projects/{project.id}/members/{owner.id}", headers=auth(token)
    )
    assert response.status_code == 409


def test_duplicate_project_name_is_a_conflict(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    assert (
        client.post("/api/v1/projects", json={"name": "p"}, headers=auth(token)).status_code == 201
    )
    assert (
        client.post("/api/v1/projects", json={"name": "p"}, headers=auth(token)).status_code == 409
    )
