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
echo "== import boundaries"
lint-imports
if [ -f web/package.json ]; then
  echo "== web: build and unit tests"
  (cd web && npm run build && npm test)
fi
echo "== pytest"
python -m pytest "$@"
