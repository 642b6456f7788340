"""Submitting experiments: JSON, YAML and multipart bodies, field-naming 422s, search expansion."""

import json
from collections.abc import Callable

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.experiments.models import Experiment
from server.runs.models import Run, RunTransition
from tests.server.conftest import spec_for

URL = "/api/v1/experiments"


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


def test_json_spec_creates_one_queued_run(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    response = client.post(URL, json=spec_for(project, tags=["baseline"]), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tags"] == ["baseline"] and body["run_count"] == 1
    run = client.get(f"/api/v1/runs/{body['run_ids'][0]}", headers=headers).json()
    assert run["state"] == "queued" and run["attempt"] == 1
    assert [t["to_state"] for t in run["transitions"]] == ["queued"]


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml"])
def test_yaml_spec_is_accepted(client: TestClient, member, content_type: str) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    response = client.post(
        URL,
        content=yaml.safe_dump(spec_for(project)),
        headers={**headers, "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["model"]["init_args"] == {"lr": 0.01}


def test_multipart_spec_without_bundle_is_accepted(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    response = client.post(
        URL, data={"spec": json.dumps(spec_for(project))}, files={"x": ("", b"")}, headers=headers
    )
    # An unknown form field is named in the error rather than ignored.
    assert response.status_code == 422
    response = client.post(
        URL, files={"spec": ("spec.yaml", yaml.safe_dump(spec_for(project)))}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["bundle_sha256"] is None


def test_invalid_spec_is_422_naming_the_field_and_the_one_meant(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, trainer={"max_epoch": 3})
    response = client.post(URL, json=spec, headers=headers)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == ["body", "trainer", "max_epoch"]
    assert errors[0]["msg"] == "unknown field 'max_epoch'; did you mean 'max_epochs'?"


def test_malformed_yaml_is_422_not_500(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    _, headers = member
    response = client.post(
        URL, content=b"name: [unclosed", headers={**headers, "Content-Type": "application/yaml"}
    )
    assert response.status_code == 422
    assert "YAML" in response.json()["detail"][0]["msg"]


def test_malformed_json_is_422_with_position(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    _, headers = member
    response = client.post(
        URL, content=b'{"name": ', headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "line 1" in response.json()["detail"][0]["msg"]


def test_unsupported_media_type_is_415(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    _, headers = member
    response = client.post(URL, content=b"x", headers={**headers, "Content-Type": "text/plain"})
    assert response.status_code == 415


def test_oversized_spec_is_413(client: TestClient, member, settings) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, description="x" * (settings.max_spec_bytes + 1))
    response = client.post(URL, json=spec, headers=headers)
    assert response.status_code == 413


def test_grid_search_expands_to_the_cartesian_product_up_to_max_trials(
    client: TestClient,
    member,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    search = {
        "method": "grid",
        "max_trials": 5,
        "parameters": {
            "model.init_args.lr": {"values": [0.1, 0.01, 0.001]},
            "trainer.max_epochs": {"values": [1, 2]},
        },
    }
    body = client.post(URL, json=spec_for(project, search=search), headers=headers).json()
    assert body["run_count"] == 5
    runs = [client.get(f"/api/v1/runs/{i}", headers=headers).json() for i in body["run_ids"]]
    params = [r["params"] for r in runs]
    assert params[:3] == [
        {"model.init_args.lr": 0.1, "trainer.max_epochs": 1},
        {"model.init_args.lr": 0.1, "trainer.max_epochs": 2},
        {"model.init_args.lr": 0.01, "trainer.max_epochs": 1},
    ]
    first = runs[0]["spec"]
    assert first["model"]["init_args"]["lr"] == 0.1 and first["trainer"]["max_epochs"] == 1
    assert first["search"] is None


def test_random_search_is_seeded_and_respects_the_range(
    client: TestClient,
    member,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    search = {
        "method": "random",
        "max_trials": 4,
        "seed": 7,
        "parameters": {"model.init_args.lr": {"low": 1e-4, "high": 1e-1, "log": True}},
    }
    first = client.post(URL, json=spec_for(project, search=search), headers=headers).json()
    second = client.post(URL, json=spec_for(project, search=search), headers=headers).json()

    def lrs(body: dict) -> list[float]:
        return [
            client.get(f"/api/v1/runs/{i}", headers=headers).json()["params"]["model.init_args.lr"]
            for i in body["run_ids"]
        ]

    values = lrs(first)
    assert len(values) == 4 and values == lrs(second)
    assert all(1e-4 <= v <= 1e-1 for v in values)


def test_search_value_that_breaks_the_spec_is_422_and_writes_nothing(
    client: TestClient,
    session: Session,
    member,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    search = {"parameters": {"trainer.max_epochs": {"values": [1, 0]}}}
    response = client.post(URL, json=spec_for(project, search=search), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "search", "parameters"]
    assert session.scalar(select(func.count()).select_from(Experiment)) == 0
    assert session.scalar(select(func.count()).select_from(Run)) == 0
    assert session.scalar(select(func.count()).select_from(RunTransition)) == 0


def test_viewer_cannot_submit(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    add_member: Callable,
    auth: Callable,
) -> None:
    owner, _ = make_user()
    viewer, token = make_user()
    project = make_project(owner)
    add_member(project, viewer, "viewer")
    assert client.post(URL, json=spec_for(project), headers=auth(token)).status_code == 403


def test_submitting_to_another_teams_project_is_404(
    client: TestClient, make_user: Callable, make_project: Callable, auth: Callable
) -> None:
    owner, _ = make_user()
    _, outsider = make_user()
    project = make_project(owner)
    assert client.post(URL, json=spec_for(project), headers=auth(outsider)).status_code == 404


def test_experiments_list_filters_by_tag_and_text(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    client.post(URL, json=spec_for(project, name="resnet", tags=["a"]), headers=headers)
    client.post(
        URL, json=spec_for(project, name="mlp", description="tiny MLP", tags=["b"]), headers=headers
    )
    by_tag = client.get(URL, params={"tag": "a"}, headers=headers).json()["items"]
    assert [e["name"] for e in by_tag] == ["resnet"]
    by_text = client.get(URL, params={"q": "tiny"}, headers=headers).json()["items"]
    assert [e["name"] for e in by_text] == ["mlp"]


def test_yaml_alias_bomb_is_422_not_a_hang(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)
    ]
    bomb = "\n".join(lines)
    text = f"{bomb}\nname: bomb\nproject: {project.name}\nmodel:\n  entrypoint: a.b:C\n  init_args: {{x: *a11}}\n"
    response = client.post(
        URL, content=text, headers={**headers, "Content-Type": "application/yaml"}
    )
    assert response.status_code == 422
    assert "values" in response.json()["detail"][0]["msg"]


def test_deeply_nested_json_is_422_not_500(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    _, headers = member
    body = b"[" * 50_000 + b"]" * 50_000
    response = client.post(
        URL, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_nul_characters_are_422_on_every_backend(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, description="before\u0000after")
    assert client.post(URL, json=spec, headers=headers).status_code in (201, 422)
    assert client.get("/api/v1/runs/%00", headers=headers).status_code in (404, 422)
    assert client.get("/api/v1/runs", params={"q": "\u0000"}, headers=headers).status_code in (
        200,
        422,
    )


def test_a_memory_limit_too_small_to_run_is_422_naming_the_field(
    client: TestClient, member
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    response = client.post(
        URL, json=spec_for(project, resources={"memory": "64Mi"}), headers=headers
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "resources", "memory"] and "512Mi" in error["msg"]
    accepted = client.post(
        URL, json=spec_for(project, resources={"memory": "4Gi"}), headers=headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["spec"]["resources"]["memory"] == 4 << 30


def test_only_an_admin_may_submit_a_run_that_cannot_be_preempted(
    client: TestClient, member, make_user: Callable, auth: Callable, add_member: Callable
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    refused = client.post(URL, json=spec_for(project, preemptible=False), headers=headers)
    assert refused.status_code == 403 and "preemptible: false" in refused.json()["detail"]
    admin, token = make_user(is_admin=True)
    add_member(project, admin, "member")
    granted = client.post(URL, json=spec_for(project, preemptible=False), headers=auth(token))
    assert granted.status_code == 201, granted.text
