#!/usr/bin/env bash
# The main job: set up, start Runyard on this machine (server, ingester, scheduler, a worker,
# and Redis if none answers; SQLite by default), then submit the digits example and follow it
# to the end: progress, log lines and metrics, then the final metrics and the download paths
# of its checkpoints and exports. The service keeps running afterwards (dashboard at
# http://127.0.0.1:8000/); stop it with `python -m runyard.cli down`.
# Extra arguments go to `runyard up` (e.g. `--gpus 0`); RUNYARD_PORT picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. .venv/bin/activate

port=${RUNYARD_PORT:-8000}
if curl -fs "http://127.0.0.1:${port}/healthz" >/dev/null 2>&1; then
  echo "quickstart: Runyard already answers on port ${port}; using it"
else
  python -m runyard.cli up --detach --port "$port" "$@"
fi
export RUNYARD_URL="http://127.0.0.1:${port}"
python -m runyard.cli submit examples/digits.yaml --follow
