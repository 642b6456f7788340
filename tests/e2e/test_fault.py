"""The fault test: two workers, a 5-epoch run, `kill -9` of the worker running it after its
second checkpoint. The run resumes on the other worker from its last uploaded checkpoint,
completes with the weights of an uninterrupted run (CPU, deterministic), and its metric
series has each step exactly once."""

import signal

import pytest
import torch

from tests.e2e.stack import client_for, running_stack
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SPEC = {
    "name": "fault",
    "project": "fault",
    "model": {"entrypoint": "tests.worker.tiny_models:SlowClassifier"},
    "datamodule": {
        "entrypoint": "tests.worker.tiny_models:TinyData",
        "init_args": {"samples": 160, "batch_size": 16},
    },
    "trainer": {"max_epochs": 5, "seed": 11, "num_sanity_val_steps": 0, "log_every_n_steps": 1},
    "checkpoint": {"save_top_k": 1, "save_last": True},
    "resources": {"gpus_per_node": 1},
    "max_restarts": 2,
    "export": {"formats": []},
}


def finished(client, run_id, timeout=240):
    return wait_for(
        lambda: (r := client.run(run_id))["state"] in ("completed", "failed", "canceled") and r,
        timeout=timeout,
        what=f"run {run_id} to finish",
    )


def last_weights(client, run_id, tmp_path):
    [last] = [c for c in client.checkpoints(run_id) if c["is_last"]]
    path = client.download(
        f"/api/v1/checkpoints/{last['id']}/download", tmp_path / f"{run_id}.ckpt"
    )
    return torch.load(path, weights_only=True)["state_dict"]


def test_killed_worker_run_resumes_elsewhere_with_identical_weights_and_each_step_once(tmp_path):
    with running_stack(tmp_path / "stack", worker_timeout_seconds="4") as stack:
        stack.start_worker("w2", 1)
        stack.wait_for_worker("w2")
        client = client_for(stack)
        client.ensure_project("fault")

        [run_id] = client.submit(SPEC)["run_ids"]
        wait_for(
            # Retention may prune the first file; epoch 1's checkpoint is the second one saved.
            lambda: any(c["epoch"] >= 1 for c in client.checkpoints(run_id)),
            timeout=180,
            what="the run's second checkpoint",
        )
        run = client.run(run_id)
        names = {w["id"]: w["name"] for w in client.workers()}
        victim = names[run["worker_id"]]
        label = "worker" if victim == "w1" else f"worker-{victim}"
        [process] = [p for name, p in stack.processes if name == label]
        process.send_signal(signal.SIGKILL)

        resumed = finished(client, run_id)
        assert resumed["state"] == "completed", resumed.get("exit_reason")
        assert resumed["attempt"] == 2
        assert names[resumed["worker_id"]] != victim

        # The same spec, uninterrupted, on the surviving worker.
        [reference_id] = client.submit(SPEC)["run_ids"]
        assert finished(client, reference_id)["state"] == "completed"

        expected = last_weights(client, reference_id, tmp_path)
        got = last_weights(client, run_id, tmp_path)
        assert expected.keys() == got.keys()
        for key in expected:
            assert torch.equal(expected[key], got[key]), key

        for key in ("train_loss", "val_loss"):
            steps = [p["step"] for p in client.metric(run_id, key, max_points=100_000)]
            reference = [p["step"] for p in client.metric(reference_id, key, max_points=100_000)]
            assert len(steps) == len(set(steps)), f"{key} has a step twice"
            assert steps == reference, f"{key} misses or adds steps"
