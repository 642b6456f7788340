"""Preemption on a real stack with one slot: a low-priority run is stopped mid-epoch at a step
boundary for a high-priority one, resumes after it from that step, and ends with the weights
and the metric series of an uninterrupted run; a run that ignores the request is stopped after
the grace period and resumes from its last checkpoint."""

from datetime import datetime

import pytest
import torch

from tests.e2e.stack import client_for, running_stack
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def spec(name: str, model: str = "ChaosClassifier", priority: int = 0, epochs: int = 5) -> dict:
    return {
        "name": name,
        "project": "preempt",
        "model": {"entrypoint": f"tests.chaos.chaos_models:{model}"},
        "datamodule": {
            "entrypoint": "tests.worker.tiny_models:TinyData",
            "init_args": {"samples": 160, "batch_size": 16},
        },
        "trainer": {
            "max_epochs": epochs,
            "seed": 5,
            "num_sanity_val_steps": 0,
            "log_every_n_steps": 1,
            "deterministic": True,
        },
        "checkpoint": {"save_top_k": 1, "save_last": True},
        "resources": {"gpus_per_node": 1},
        "priority": priority,
        "export": {"formats": []},
    }


def finished(client, run_id, timeout=300):
    return wait_for(
        lambda: (r := client.run(run_id))["state"] in ("completed", "failed", "canceled") and r,
        timeout=timeout,
        what=f"run {run_id} to finish",
    )


def printed(client, run_id, text: str) -> bool:
    return any(text in line["text"] for line in client.logs(run_id, limit=5000)["lines"])


def weights(client, run_id, tmp_path):
    [last] = [c for c in client.checkpoints(run_id) if c["is_last"]]
    path = client.download(f"/api/v1/checkpoints/{last['id']}/download", tmp_path / run_id)
    return torch.load(path, weights_only=True)["state_dict"]


def series(client, run_id):
    return {
        key: [(p["step"], p["value"]) for p in client.metric(run_id, key, max_points=100_000)]
        for key in ("train_loss", "val_loss")
    }


def at(run: dict, state: str) -> datetime:
    return max(
        datetime.fromisoformat(t["at"]) for t in run["transitions"] if t["to_state"] == state
    )


def test_a_low_priority_run_is_preempted_mid_epoch_and_resumes_bit_for_bit(tmp_path):
    with running_stack(tmp_path / "stack", preemption_min_runtime_seconds="0") as stack:
        client = client_for(stack)
        client.ensure_project("preempt")
        [low] = client.submit(spec("low"))["run_ids"]
        wait_for(
            lambda: printed(client, low, "[chaos] epoch 1 batch 4"),
            timeout=240,
            what="the low-priority run to be in the middle of its second epoch",
        )
        [high] = client.submit(spec("high", priority=10, epochs=1))["run_ids"]
        urgent = finished(client, high)
        assert urgent["state"] == "completed"
        submitted = datetime.fromisoformat(urgent["created_at"])
        assert (at(urgent, "running") - submitted).total_seconds() < 10

        resumed = finished(client, low)
        assert resumed["state"] == "completed", resumed.get("exit_reason")
        assert resumed["attempt"] == 2
        reasons = [t["reason"] for t in resumed["transitions"] if t["to_state"] == "queued"]
        assert f"preempted for run {high} (priority 10)" in reasons
        assert printed(client, low, "[runyard] preempted at step")

        [reference] = client.submit(spec("reference"))["run_ids"]
        assert finished(client, reference)["state"] == "completed"
        expected, got = weights(client, reference, tmp_path), weights(client, low, tmp_path)
        assert expected.keys() == got.keys()
        for key in expected:
            assert torch.equal(expected[key], got[key]), key
        assert series(client, low) == series(client, reference)  # each step once, same values


def test_a_run_that_ignores_the_request_is_stopped_after_the_grace_and_resumes(tmp_path):
    with running_stack(
        tmp_path / "stack",
        preemption_min_runtime_seconds="0",
        extra_env={"RUNYARD_WORKER_PREEMPT_GRACE_SECONDS": "3"},
    ) as stack:
        client = client_for(stack)
        client.ensure_project("preempt")
        # 12 epochs of ~1 s: after "epoch 1 batch 4" the run has ~10 s of work left, more than
        # the preemption round trip plus its 3 s grace even on a loaded machine (with 5 epochs a
        # slow round trip let it finish first, on attempt 1)
        [stubborn] = client.submit(spec("stubborn", model="StubbornClassifier", epochs=12))[
            "run_ids"
        ]
        wait_for(
            lambda: printed(client, stubborn, "[chaos] epoch 1 batch 4"),
            timeout=240,
            what="the stubborn run to be past its first checkpoint",
        )
        [high] = client.submit(spec("high", priority=10, epochs=1))["run_ids"]
        assert finished(client, high)["state"] == "completed"
        resumed = finished(client, stubborn)
        assert resumed["state"] == "completed" and resumed["attempt"] == 2
        assert printed(client, stubborn, "did not stop within 3s of the preemption request")
        [reference] = client.submit(spec("reference", model="StubbornClassifier", epochs=12))[
            "run_ids"
        ]
        assert finished(client, reference)["state"] == "completed"
        expected, got = weights(client, reference, tmp_path), weights(client, stubborn, tmp_path)
        for key in expected:
            assert torch.equal(expected[key], got[key]), key
        assert series(client, stubborn) == series(client, reference)
