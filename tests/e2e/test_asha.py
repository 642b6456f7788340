"""An ASHA search on digits on a real stack (two slots): every trial trains its first rung,
only the best go on, each resuming from the checkpoint it paused at, the others end
completed "stopped by ASHA at rung r", and the search trains fewer epochs in all than the same
trials run to the end (bench/asha_vs_grid.py measures the slot-seconds)."""

import pytest

from tests.e2e.stack import client_for, running_stack
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

TRIALS, MAX_EPOCHS = 4, 4  # reduction factor 2: rungs of 1, 2 and 4 epochs


def asha_spec() -> dict:
    return {
        "name": "digits-asha",
        "project": "asha",
        "model": {"entrypoint": "examples.digits:DigitsClassifier", "init_args": {}},
        "datamodule": {"entrypoint": "examples.digits:DigitsDataModule", "init_args": {}},
        "trainer": {"max_epochs": MAX_EPOCHS, "seed": 0, "log_every_n_steps": 5},
        "resources": {"gpus_per_node": 1},
        "checkpoint": {"monitor": "val_acc", "mode": "max", "save_top_k": 1},
        "export": {"formats": ["torchscript"]},
        "search": {
            "algorithm": "asha",
            "metric": "val_acc",
            "mode": "max",
            "num_trials": TRIALS,
            "max_concurrent": 2,
            "grace_period": 1,
            "reduction_factor": 2,
            "seed": 1,
            "parameters": {
                "model.init_args.lr": {"loguniform": [1e-4, 3e-2]},
                "model.init_args.hidden_size": {"choice": [16, 64, 128]},
            },
        },
    }


def test_an_asha_search_on_digits_stops_trials_early_and_resumes_the_promoted_ones(tmp_path):
    with running_stack(tmp_path / "stack", gpus=2) as stack:
        client = client_for(stack)
        client.ensure_project("asha")
        run_ids = client.submit(asha_spec())["run_ids"]
        assert len(run_ids) == TRIALS

        def finished() -> list[dict] | None:
            found = [client.run(i) for i in run_ids]
            done = all(r["state"] in ("completed", "failed", "canceled") for r in found)
            return found if done else None

        runs = wait_for(finished, timeout=900, what="the ASHA search to finish")
        assert [r["state"] for r in runs] == ["completed"] * TRIALS, [
            r["exit_reason"] for r in runs
        ]

        stopped = [r for r in runs if (r["exit_reason"] or "").startswith("stopped by ASHA")]
        top = [r for r in runs if r["rung"] == 2 and r not in stopped]
        assert stopped, "ASHA stopped no trial early"
        assert top, "no trial reached the top rung"
        for run in stopped:
            assert run["exit_reason"] == f"stopped by ASHA at rung {run['rung']}"
            assert run["rung"] < 2 and client.exports(run["id"]) == []
            assert [r["rung"] for r in run["rung_results"]] == list(range(run["rung"] + 1))
        budgets = {0: 1, 1: 2, 2: 4}
        for run in runs:
            assert [r["epochs"] for r in run["rung_results"]] == [
                budgets[k] for k in range(len(run["rung_results"]))
            ]

        [best] = top[:1]
        # One attempt per rung; each after the first resumed from the checkpoint it paused at.
        assert best["attempt"] == 3 and best["resume_checkpoint_id"] is not None
        reasons = [t["reason"] for t in best["transitions"] if t["to_state"] == "queued"]
        assert reasons[0].startswith("started by ASHA")
        assert reasons[1:] == [
            "promoted by ASHA to rung 1 (2 epochs): among the best 1/2 at rung 0",
            "promoted by ASHA to rung 2 (4 epochs): among the best 1/2 at rung 1",
        ]
        assert [t["to_state"] for t in best["transitions"]].count("paused") == 3  # + submitted
        # Resumed, not retrained: every step of its 4 epochs logged once, in order.
        steps = [p["step"] for p in client.metric(best["id"], "train_loss", max_points=100_000)]
        assert steps == sorted(set(steps))
        epochs = {p["epoch"] for p in client.metric(best["id"], "val_acc", max_points=100_000)}
        assert epochs == set(range(MAX_EPOCHS))
        assert {e["format"] for e in client.exports(best["id"])} == {"torchscript"}

        trained = sum(budgets[r["rung"]] for r in runs)
        assert trained < TRIALS * MAX_EPOCHS  # the same trials run to the end: 16 epochs
