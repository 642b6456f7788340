"""An unmodified MLflow script, run by the real `mlflow` client (mlflow-skinny in a venv of
its own), logs into Runyard with a Runyard token; the values are read back through Runyard's
API. Build the client's venv with `bash tests/runyard/mlflow_client/setup_mlflow.sh` (or set
RUNYARD_MLFLOW_PYTHON to another interpreter with mlflow); without it these tests skip."""

import httpx
import pytest

from runyard.client import Client
from tests.e2e.live_server import live_server
from tests.runyard.mlflow_client import needs_mlflow, run_mlflow_script


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("mlflow")) as running:
        yield running


def _run_script(server, experiment, token):
    return run_mlflow_script(server.url, experiment, token)


@needs_mlflow
def test_an_unmodified_mlflow_script_logs_into_runyard(server):
    result = _run_script(server, "mlflow-team", server.admin_token)

    with Client(server.url, server.admin_token) as client:
        # The MLflow experiment is the Runyard project of that name, created on first use.
        project = next(p for p in client.projects() if p["name"] == "mlflow-team")
        assert result["experiment_id"] == project["id"]
        run = client.run(result["run_id"])
        assert run["kind"] == "external" and run["state"] == "completed"
        assert run["experiment_name"] == "sgd-baseline" and run["project_id"] == project["id"]
        assert run["params"] == {"lr": "0.1", "batch_size": "32", "optimizer": "sgd"}
        assert run["spec"]["tags"]["team"] == "vision"
        loss = client.metric(result["run_id"], "loss")
        assert [(p["step"], p["value"]) for p in loss] == [(s, 1.0 / (s + 1)) for s in range(20)]
        assert client.metric(result["run_id"], "acc") == [
            {
                "step": 19,
                "value": 0.875,
                "epoch": None,
                "wall_time": pytest.approx(loss[-1]["wall_time"], abs=60),
            }
        ]
    # ... and MLflow reads back what it wrote.
    assert result["history"] == [[s, 1.0 / (s + 1)] for s in range(20)]
    assert result["status"] == "FINISHED"
    assert result["params"] == {"lr": "0.1", "batch_size": "32", "optimizer": "sgd"}
    assert result["tags"] == {"team": "vision"}
    assert result["metrics"] == {"loss": 0.05, "acc": 0.875, "f1": 0.5}


def _mlflow(server, method, path, token, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{server.url}/api/2.0/mlflow/{path}", headers=headers, **kwargs)


def test_an_unknown_experiment_is_mlflows_resource_does_not_exist(server):
    response = _mlflow(
        server,
        "GET",
        "experiments/get-by-name",
        server.admin_token,
        params={"experiment_name": "no-such-project"},
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_missing_token_is_mlflows_unauthenticated(server):
    response = _mlflow(
        server, "GET", "experiments/get-by-name", None, params={"experiment_name": "x"}
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"


def test_a_bad_body_is_mlflows_invalid_parameter_value_naming_the_field(server):
    response = _mlflow(
        server, "POST", "runs/log-metric", server.admin_token, json={"run_id": "x", "key": "a"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and "value" in body["message"]
