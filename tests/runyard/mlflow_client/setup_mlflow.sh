#!/usr/bin/env bash
# Builds the venv of the real MLflow client (mlflow-skinny, pinned) that
# tests/runyard/test_mlflow_compat.py runs unmodified MLflow scripts with, in
# ${RUNYARD_MLFLOW_VENV:-.venv-mlflow}. It is kept apart from the project's .venv so MLflow's
# own pins (protobuf, opentelemetry, ...) never move the project's.
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=${RUNYARD_MLFLOW_VENV:-$PWD/.venv-mlflow}
python3 -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check -q "mlflow-skinny==3.17.2" 2>&1 | grep -v 'is ignored: it is neither' || true
"$VENV/bin/python" -c "import mlflow; print('mlflow client ready:', mlflow.__version__)"
