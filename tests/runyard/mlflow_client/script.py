"""An ordinary MLflow tracking script, as a team has it today: nothing Runyard-specific but
the tracking URI and token it is given (argv[1], MLFLOW_TRACKING_TOKEN)."""

import json
import sys

import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])

run = mlflow.start_run(run_name="sgd-baseline")
mlflow.log_param("lr", 0.1)
mlflow.log_params({"batch_size": 32, "optimizer": "sgd"})
for step in range(20):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
mlflow.log_metrics({"acc": 0.875, "f1": 0.5}, step=19)
mlflow.set_tag("team", "vision")
mlflow.end_run()

history = MlflowClient().get_metric_history(run.info.run_id, "loss")
fetched = MlflowClient().get_run(run.info.run_id)
print(
    "RESULT "
    + json.dumps(
        {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "history": [[m.step, m.value] for m in history],
            "status": fetched.info.status,
            "params": fetched.data.params,
            "tags": {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")},
            "metrics": fetched.data.metrics,
        }
    )
)
