"""Submitting an ASHA search: its trials are the seeded samples a random search of the same
spec draws, held `paused` until the search starts them; a spec ASHA cannot run is a 422 that
says what to change."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import spec_for

URL = "/api/v1/experiments"
SPACE = {
    "model.init_args.lr": {"loguniform": [1e-4, 1e-1]},
    "model.init_args.hidden_size": {"choice": [32, 64, 128]},
    "model.init_args.dropout": {"uniform": [0.0, 0.5]},
    "datamodule.init_args.batch_size": {"int": [16, 128]},
}


def asha(**fields: Any) -> dict[str, Any]:
    return {
        "algorithm": "asha",
        "metric": "val_acc",
        "mode": "max",
        "num_trials": 6,
        "reduction_factor": 3,
        "parameters": SPACE,
    } | fields


def spec_with(project, search: dict[str, Any], **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return spec_for(
        project,
        datamodule={"entrypoint": "examples.digits:DigitsDataModule", "init_args": {}},
        trainer={"max_epochs": 9},
        search=search,
        **overrides,
    )


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


def runs_of(client: TestClient, headers: dict[str, str], body: dict) -> list[dict]:
    return [client.get(f"/api/v1/runs/{i}", headers=headers).json() for i in body["run_ids"]]


def test_asha_trials_wait_paused_with_the_samples_of_the_same_random_search(
    client: TestClient,
    member,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    response = client.post(URL, json=spec_with(project, asha(seed=3)), headers=headers)
    assert response.status_code == 201, response.text
    trials = runs_of(client, headers, response.json())
    assert len(trials) == 6
    for run in trials:
        assert run["state"] == "paused" and run["rung"] is None and run["rung_results"] == []
        assert [(t["to_state"], t["reason"]) for t in run["transitions"]] == [
            ("paused", "submitted; waiting for ASHA")
        ]
        assert run["spec"]["trainer"]["max_epochs"] == 9  # the top rung; each rung sets its own
    random = {"method": "random", "max_trials": 6, "seed": 3, "parameters": SPACE}
    same = client.post(URL, json=spec_with(project, random), headers=headers).json()
    assert [r["params"] for r in runs_of(client, headers, same)] == [r["params"] for r in trials]
    for params in (r["params"] for r in trials):
        assert 1e-4 <= params["model.init_args.lr"] <= 1e-1
        assert params["model.init_args.hidden_size"] in (32, 64, 128)
        assert 0.0 <= params["model.init_args.dropout"] <= 0.5
        assert isinstance(params["datamodule.init_args.batch_size"], int)


def test_validate_lists_the_rungs(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    plan = client.post(f"{URL}/validate", json=spec_with(project, asha()), headers=headers)
    assert plan.status_code == 200, plan.text
    assert len(plan.json()["trials"]) == 6
    assert any("rungs of 1, 3, 9 epochs" in note for note in plan.json()["notes"])


def test_a_paused_trial_is_canceled_at_once(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    body = client.post(URL, json=spec_with(project, asha()), headers=headers).json()
    run_id = body["run_ids"][0]
    canceled = client.post(f"/api/v1/runs/{run_id}/cancel", headers=headers)
    assert canceled.status_code == 200, canceled.text
    assert client.get(f"/api/v1/runs/{run_id}", headers=headers).json()["state"] == "canceled"


@pytest.mark.parametrize(
    ("search", "overrides", "loc", "says"),
    [
        (asha(metric=None), {}, ["search"], "needs 'metric'"),
        (asha(mode=None), {}, ["search"], "needs 'mode': min if a lower val_acc is better"),
        (asha(reduction_factor=1), {}, ["search", "reduction_factor"], "at least 2"),
        (asha(grace_period=0), {}, ["search", "grace_period"], "at least 1 epoch"),
        (asha(grace_period=9), {}, ["search"], "grace_period (9) must be less than"),
        (asha(num_trials=2), {}, ["search"], "num_trials (2) must be at least reduction_factor"),
        (asha(resource="steps"), {}, ["search", "resource"], "'epochs'"),
        (
            asha(parameters={"trainer.max_epochs": {"choice": [3, 9]}}),
            {},
            ["search"],
            "remove the search parameter 'trainer.max_epochs'",
        ),
        (asha(), {"trainer": {}}, ["search"], "needs trainer.max_epochs"),
        (asha(), {"trainer": {"max_epochs": 9, "max_steps": 100}}, ["search"], "max_steps"),
        (asha(), {"checkpoint": {"save_last": False}}, ["search"], "checkpoint.save_last: true"),
        (
            {"method": "random", "metric": "val_acc", "parameters": SPACE},
            {},
            ["search"],
            "metric is for algorithm: asha only",
        ),
        (
            asha(parameters={"model.init_args.lr": {"uniform": [0.1]}}),
            {},
            ["search", "parameters", "model.init_args.lr"],
            "'uniform' needs [low, high]",
        ),
        (asha(method="asha"), {}, ["search"], "'algorithm' and 'method' are two names"),
    ],
)
def test_a_spec_asha_cannot_run_is_422_saying_what_to_change(
    client: TestClient,
    member,  # type: ignore[no-untyped-def]
    search: dict[str, Any],
    overrides: dict[str, Any],
    loc: list[str],
    says: str,
) -> None:
    project, headers = member
    search = {k: v for k, v in search.items() if v is not None}
    spec = spec_with(project, search) | overrides
    response = client.post(URL, json=spec, headers=headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", *loc]
    assert says in error["msg"]
