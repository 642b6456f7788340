"""Tags and Markdown notes of a run, edited after submission by members of its project; the
runs list's tag filter matches the run's own tags and its experiment's."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def team(make_user: Callable, make_project: Callable, add_member: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    owner, owner_token = make_user()
    project = make_project(owner)
    member, member_token = make_user()
    add_member(project, member, "member")
    viewer, viewer_token = make_user()
    add_member(project, viewer, "viewer")
    _, outsider_token = make_user()
    return {
        "project": project,
        "owner": (owner, auth(owner_token)),
        "member": auth(member_token),
        "viewer": auth(viewer_token),
        "outsider": auth(outsider_token),
    }


def test_a_member_sets_tags_and_notes_and_everyone_in_the_project_reads_them(
    client: TestClient, team, make_run: Callable
) -> None:  # type: ignore[no-untyped-def]
    owner, _ = team["owner"]
    run = make_run(team["project"], owner)
    body = {"tags": ["best", "baseline", "best"], "notes": "# Why\n*lr* was too high"}
    response = client.patch(f"/api/v1/runs/{run.id}", json=body, headers=team["member"])
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["baseline", "best"]
    seen = client.get(f"/api/v1/runs/{run.id}", headers=team["viewer"]).json()
    assert seen["notes"] == "# Why\n*lr* was too high" and seen["tags"] == ["baseline", "best"]
    # Only notes: the tags stay.
    client.patch(f"/api/v1/runs/{run.id}", json={"notes": ""}, headers=team["member"])
    listed = client.get("/api/v1/runs", params={"tag": "best"}, headers=team["viewer"]).json()
    assert [(r["id"], r["tags"]) for r in listed["items"]] == [(run.id, ["baseline", "best"])]


def test_viewers_may_not_edit_and_outsiders_do_not_see_the_run(
    client: TestClient, team, make_run: Callable
) -> None:  # type: ignore[no-untyped-def]
    owner, _ = team["owner"]
    run = make_run(team["project"], owner)
    viewer = client.patch(f"/api/v1/runs/{run.id}", json={"notes": "x"}, headers=team["viewer"])
    assert viewer.status_code == 403
    outsider = client.patch(f"/api/v1/runs/{run.id}", json={"notes": "x"}, headers=team["outsider"])
    assert outsider.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"tags": [""]},
        {"tags": [" padded"]},
        {"tags": ["x" * 65]},
        {"tags": [f"t{i}" for i in range(33)]},
        {"tags": "best"},
        {"notes": "a\u0000b"},
        {"notes": "x" * 100_001},
        {"colour": "red"},
    ],
)
def test_bad_tags_or_notes_are_422(client: TestClient, team, make_run: Callable, body) -> None:  # type: ignore[no-untyped-def]
    owner, headers = team["owner"]
    run = make_run(team["project"], owner)
    response = client.patch(f"/api/v1/runs/{run.id}", json=body, headers=headers)
    assert response.status_code == 422, response.text
