#!/usr/bin/env bash
# The test command: sets up, starts services, lints, checks import boundaries, runs the suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/trainer_core -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
bash scripts/services.sh
# shellcheck disable=SC1091
. .venv/bin/activate

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy runyard trainer_core server worker
echo "== import boundaries"
lint-imports
if [ -f web/package.json ]; then
  echo "== web: build and unit tests"
  (cd web && npm run build && npm test)
fi
# The real Lightning 1.0.8, in a venv of its own, is the oracle for trainer_core's 1.0 behaviour.
export RUNYARD_PL10_VENV=${RUNYARD_PL10_VENV:-$PWD/.venv-pl10}
export RUNYARD_PL10_PYTHON=$RUNYARD_PL10_VENV/bin/python
if [ ! -x "$RUNYARD_PL10_PYTHON" ]; then
  echo "== building the Lightning 1.0 oracle in $RUNYARD_PL10_VENV"
  bash tests/trainer_core/oracle/setup_pl10.sh
fi
# The real MLflow client, in a venv of its own, runs unmodified MLflow scripts against Runyard.
export RUNYARD_MLFLOW_VENV=${RUNYARD_MLFLOW_VENV:-$PWD/.venv-mlflow}
export RUNYARD_MLFLOW_PYTHON=$RUNYARD_MLFLOW_VENV/bin/python
if [ ! -x "$RUNYARD_MLFLOW_PYTHON" ]; then
  echo "== building the MLflow client in $RUNYARD_MLFLOW_VENV"
  bash tests/runyard/mlflow_client/setup_mlflow.sh
fi
echo "== pytest"
python -m pytest "$@"
