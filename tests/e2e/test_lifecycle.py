"""End to end with real processes (server, ingester, scheduler, Celery worker), PostgreSQL
and Redis: a run completes with its telemetry and artifacts; cancel; user code that raises;
a run killed by a signal."""

import time
from pathlib import Path

import pytest

from runyard.client import Client, load_spec
from tests.e2e.stack import client_for, running_stack
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]


def spec(model: str, **trainer) -> dict:
    return {
        "name": "e2e",
        "project": "e2e",
        "model": {"entrypoint": f"tests.worker.tiny_models:{model}"},
        "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
        "trainer": {"max_epochs": 2, "seed": 1, "num_sanity_val_steps": 0, "log_every_n_steps": 1}
        | trainer,
        "checkpoint": {"monitor": "val_loss", "save_top_k": 1},
        "resources": {"gpus_per_node": 1},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack) -> Client:
    client = client_for(stack)
    client.ensure_project("e2e")
    yield client
    client.close()


def submit(client: Client, model: str, **trainer) -> str:
    return client.submit(spec(model, **trainer))["run_ids"][0]


def finished(client: Client, run_id: str, timeout: float = 120) -> dict:
    return wait_for(
        lambda: (r := client.run(run_id))["state"] in ("completed", "failed", "canceled") and r,
        timeout=timeout,
        what=f"run {run_id} to finish",
    )


def artifact_routes_exist(client: Client) -> bool:
    paths = client._call("GET", "/openapi.json")["paths"]
    return "/api/v1/worker/runs/{run_id}/checkpoints" in paths


def test_submitted_run_completes_with_metrics_logs_checkpoints_and_exports(client):
    if not artifact_routes_exist(client):
        pytest.skip("the server has no checkpoint/export upload routes yet (issue 4)")
    run_id = submit(client, "TinyClassifier")
    run = finished(client, run_id)
    assert run["state"] == "completed", run.get("exit_reason")
    assert {"train_loss", "val_loss"} <= set(client.metric_keys(run_id))
    wait_for(
        lambda: any("[runyard] epoch 2/2" in line["text"] for line in client.logs(run_id)["lines"]),
        what="the progress lines in the logs",
    )
    assert client.checkpoints(run_id), "no checkpoint stored"
    assert {e["format"] for e in client.exports(run_id)} == {"torchscript", "onnx"}


def test_the_gan_example_trains_with_manual_optimization_in_its_sandbox(client):
    """The seed's GAN (several optimizers stepped by hand) as shipped, shortened to one epoch."""
    spec = load_spec(REPO / "examples" / "gan.yaml").model_dump(mode="json")
    spec["project"] = "e2e"
    spec["trainer"]["max_epochs"] = 1
    spec["datamodule"]["init_args"]["n_samples"] = 512
    run_id = client.submit(spec)["run_ids"][0]
    run = finished(client, run_id, timeout=300)
    assert run["state"] == "completed", run.get("exit_reason")
    assert run["isolation"] == "sandbox"
    assert {"g_loss", "d_loss"} <= set(client.metric_keys(run_id))
    assert {e["format"] for e in client.exports(run_id)} == {"torchscript", "onnx"}


def test_cancel_stops_a_running_run_within_ten_seconds(client):
    run_id = submit(client, "SlowClassifier", max_epochs=50)
    wait_for(
        lambda: any("slow step" in line["text"] for line in client.logs(run_id)["lines"]),
        timeout=120,
        what="the run to be training",
    )
    began = time.monotonic()
    client.cancel(run_id)
    run = finished(client, run_id, timeout=30)
    print(f"cancel took {time.monotonic() - began:.1f}s")
    assert run["state"] == "canceled"


def test_user_code_exception_fails_the_run_with_its_traceback(client):
    run = finished(client, submit(client, "CrashingClassifier"))
    assert run["state"] == "failed"
    assert "loss exploded" in run["exit_reason"]
    assert "training_step" in (run.get("traceback") or "")


def test_a_run_killed_by_a_signal_fails_and_the_worker_keeps_serving(client):
    run = finished(client, submit(client, "SegfaultingClassifier"))
    assert run["state"] == "failed" and "SIGSEGV" in run["exit_reason"]
    # The same worker takes the next run: user code that raises is reported as such.
    after = finished(client, submit(client, "CrashingClassifier"))
    assert after["state"] == "failed" and "loss exploded" in after["exit_reason"]
