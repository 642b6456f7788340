"""Text the database cannot store (a NUL, a lone UTF-16 surrogate) gets a 422 naming the field,
in JSON and YAML bodies, nested arguments, keys, query and path parameters, on both backends;
nothing is stored."""

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.experiments.models import Experiment
from tests.server.conftest import spec_for

URL = "/api/v1/experiments"


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


def _raw_json(value: dict) -> bytes:
    # json.dumps writes a lone surrogate as the escape "\ud800", as a hostile client would.
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("description", "\ud800", ["body", "description"]),
        ("description", "nul\x00here", ["body", "description"]),
        ("tags", ["ok", "bad\udfff"], ["body", "tags", 1]),
        ("model", {"entrypoint": "m:C", "init_args": {"note": "\ud83d"}}, None),
    ],
    ids=["surrogate", "nul", "tag", "nested-arg"],
)
def test_unstorable_text_in_a_json_spec_is_422_naming_the_field(
    client: TestClient,
    session: Session,
    member,
    field,
    value,
    loc,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    spec = spec_for(project, **{field: value})
    response = client.post(
        URL, content=_raw_json(spec), headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == (loc or ["body", "model", "init_args", "note"])
    assert "surrogate" in error["msg"] or "NUL" in error["msg"]
    assert session.scalar(select(func.count()).select_from(Experiment)) == 0


def test_a_nul_in_a_yaml_spec_is_422_naming_the_field(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    text = f'name: x\nproject: {project.name}\ndescription: "a\\0b"\nmodel: {{entrypoint: "m:C"}}\n'
    response = client.post(
        URL, content=text.encode(), headers={**headers, "Content-Type": "application/yaml"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "description"]


def test_an_unstorable_key_is_named(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, model={"entrypoint": "m:C", "init_args": {"k\x00": 1}})
    response = client.post(
        URL, content=_raw_json(spec), headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "key must not contain NUL" in response.json()["detail"][0]["msg"]


def test_unstorable_text_in_other_bodies_and_in_query_parameters_is_422(
    client: TestClient, auth: Callable, make_user: Callable
) -> None:
    _, token = make_user()
    headers = {**auth(token), "Content-Type": "application/json"}
    project = client.post(
        "/api/v1/projects", content=_raw_json({"name": "p\ud800"}), headers=headers
    )
    assert project.status_code == 422 and project.json()["detail"][0]["loc"] == ["body", "name"]
    runs = client.get("/api/v1/runs", params={"q": "a\x00b"}, headers=auth(token))
    assert runs.status_code == 422 and runs.json()["detail"][0]["loc"] == ["query", "q"]
