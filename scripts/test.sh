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
echo "== pytest"
python -m pytest "$@"
