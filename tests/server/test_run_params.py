"""Flat params: every run of a submission carries its full parameters under dotted keys
(init args, trainer settings, search values), stored as rows the runs list can filter on."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.runs.models import RunParam
from server.runs.params import comparable, flat_params
from tests.server.conftest import spec_for


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


def test_flat_params_name_init_args_trainer_settings_and_searched_paths() -> None:
    spec = {
        "model": {
            "entrypoint": "examples.digits:DigitsClassifier",
            "init_args": {"lr": 0.01, "layers": [64, 32], "optim": {"name": "adam", "beta": 0.9}},
        },
        "datamodule": {"entrypoint": "examples.digits:Digits", "init_args": {}},
        "trainer": {"max_epochs": 3, "deterministic": False},
    }
    flat = flat_params(spec, {"model.init_args.lr": 0.01, "resources.gpus_per_node": 1})
    assert flat == {
        "model.class": "examples.digits:DigitsClassifier",
        "model.lr": 0.01,
        "model.layers": [64, 32],
        "model.optim.name": "adam",
        "model.optim.beta": 0.9,
        "datamodule.class": "examples.digits:Digits",
        "trainer.max_epochs": 3,
        "trainer.deterministic": False,
        "resources.gpus_per_node": 1,
    }


def test_values_compare_as_numbers_or_text() -> None:
    assert comparable(3) == (3.0, None)
    assert comparable(True) == (1.0, "true")
    assert comparable("adam") == (None, "adam")
    assert comparable([1, 2]) == (None, "[1, 2]")
    assert comparable(None) == (None, None)
    assert comparable(float("inf")) == (None, None)


def test_a_submitted_search_stores_each_trials_params(
    client: TestClient, member, session: Session
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(
        project,
        trainer={"max_epochs": 2},
        search={"parameters": {"model.init_args.lr": {"values": [0.1, 0.001]}}},
    )
    response = client.post("/api/v1/experiments", json=spec, headers=headers)
    assert response.status_code == 201, response.text
    runs = [
        client.get(f"/api/v1/runs/{run_id}", headers=headers).json()
        for run_id in response.json()["run_ids"]
    ]
    assert [r["flat_params"]["model.lr"] for r in runs] == [0.1, 0.001]
    assert all(r["flat_params"]["trainer.max_epochs"] == 2 for r in runs)
    assert runs[0]["flat_params"]["model.class"] == "examples.digits:DigitsClassifier"
    assert runs[0]["flat_params"]["trainer.precision"] == 32  # defaults too
    stored = session.scalars(
        select(RunParam).where(RunParam.run_id == runs[1]["id"], RunParam.key == "model.lr")
    ).one()
    assert stored.value_num == 0.001 and stored.value == 0.001
