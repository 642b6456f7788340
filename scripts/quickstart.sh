#!/usr/bin/env bash
# The main job: set up, start Runyard on this machine (server, ingester, scheduler, a worker
# and its own password-protected Redis; SQLite by default), then submit the digits example
# and follow it to the end: progress, log lines and metrics, then the final metrics and its
# checkpoints and exports. The service keeps running afterwards, with the dashboard at the URL
# printed at the end; stop it with `.venv/bin/runyard down`.
# Extra arguments go to `runyard up` (e.g. `--gpus 0`); RUNYARD_PORT picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNYARD_EXTRAS=${RUNYARD_EXTRAS:-server,worker} bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. .venv/bin/activate

port=${RUNYARD_PORT:-8000}
url="http://127.0.0.1:${port}"
if curl -fs "${url}/healthz" >/dev/null 2>&1; then
  echo "quickstart: Runyard already answers at ${url}; using it"
else
  runyard up --detach --port "$port" "$@"
fi
export RUNYARD_URL="$url"
status=0
runyard submit examples/digits.yaml --follow --create-project || status=$?
echo
echo "dashboard: ${url}/   (sign in with the admin token printed by runyard up, in .runyard/admin-token)"
echo "stop it:   .venv/bin/runyard down"
exit "$status"
