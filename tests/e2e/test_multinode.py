"""A two-node run is gang-started on two workers with rank 0's address as MASTER_ADDR and
trains to completion with trainer_core's ddp (CPU, gloo)."""

import pytest

from tests.e2e.stack import client_for, running_stack
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_two_node_run_is_gang_started_and_completes(tmp_path):
    with running_stack(tmp_path / "stack") as stack:
        stack.start_worker("w2", 1)
        stack.wait_for_worker("w2")
        client = client_for(stack)
        client.ensure_project("nodes")
        spec = {
            "name": "two-nodes",
            "project": "nodes",
            "model": {"entrypoint": "tests.worker.tiny_models:TinyClassifier"},
            "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
            "trainer": {"max_epochs": 1, "num_sanity_val_steps": 0, "log_every_n_steps": 1},
            "resources": {"gpus_per_node": 0, "nodes": 2},
            "export": {"formats": []},
        }
        [run_id] = client.submit(spec)["run_ids"]
        run = wait_for(
            lambda: (r := client.run(run_id))["state"] in ("completed", "failed", "canceled") and r,
            timeout=180,
            what="the two-node run to finish",
        )
        logs = "\n".join(line["text"] for line in client.logs(run_id, limit=1000)["lines"])
        assert run["state"] == "completed", f"{run.get('exit_reason')}\n{logs[-3000:]}"
        placed = [t["reason"] for t in run["transitions"] if t["to_state"] == "scheduled"]
        assert "w1[" in placed[0] and "w2[" in placed[0]
