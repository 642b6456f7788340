"""The real MLflow client (mlflow-skinny, in a venv of its own: setup_mlflow.sh) running an
unmodified tracking script (script.py) against a Runyard server."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).parent / "script.py"
MLFLOW_PYTHON = os.environ.get("RUNYARD_MLFLOW_PYTHON", str(REPO_ROOT / ".venv-mlflow/bin/python"))

needs_mlflow = pytest.mark.skipif(
    not Path(MLFLOW_PYTHON).exists(),
    reason=f"no MLflow client at {MLFLOW_PYTHON}: bash tests/runyard/mlflow_client/setup_mlflow.sh",
)


def run_mlflow_script(url: str, experiment: str, token: str) -> dict[str, Any]:
    """Runs script.py against `url` as `token`; returns what MLflow itself read back."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "VIRTUAL_ENV"))
    }
    env["MLFLOW_TRACKING_TOKEN"] = token
    done = subprocess.run(
        [MLFLOW_PYTHON, str(SCRIPT), url, experiment],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"the MLflow script failed:\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result
