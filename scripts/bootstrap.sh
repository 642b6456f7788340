#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine, idempotently:
# a virtualenv in .venv with the CPU torch wheel pinned first (so no dependency can pull a
# multi-GB CUDA build), the project in editable mode with its extras, the web build tools and
# the dashboard build (web/dist, which the server serves at /).
# RUNYARD_EXTRAS picks the extras (default server,worker,dev; the quickstart needs no dev).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
TORCH_VERSION=${RUNYARD_TORCH_VERSION:-2.13.0}
EXTRAS=${RUNYARD_EXTRAS:-server,worker,dev}

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

pip_quiet() { pip install --disable-pip-version-check -q "$@" 2>&1 | grep -v 'is ignored: it is neither' || true; }

if ! python -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  echo "bootstrap: installing torch==$TORCH_VERSION"
  pip_quiet "torch==$TORCH_VERSION"
fi

stamp=".venv/.runyard-deps-${EXTRAS//,/-}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing runyard with extras $EXTRAS"
  pip_quiet -e ".[$EXTRAS]"
  python -c "import torch, fastapi, sqlalchemy, celery, typer" # fail loudly if an install broke
  touch "$stamp"
fi

# Browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  echo "bootstrap: installing Debian's chromium for the browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; })
fi

# Every run is sandboxed with Debian's bubblewrap (and util-linux's setpriv); a worker refuses
# to start without them unless RUNYARD_WORKER_ISOLATION=none.
if ! command -v bwrap >/dev/null && command -v apt-get >/dev/null; then
  echo "bootstrap: installing Debian's bubblewrap for the run sandbox"
  (apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; })
fi

if [ -f web/package.json ] && command -v npm >/dev/null; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
    echo "bootstrap: npm ci in web/"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Rebuild the dashboard when any of its sources is newer than the build.
  if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/index.html web/package-lock.json \
      web/vite.config.ts web/tsconfig.json -newer web/dist/index.html -print -quit)" ]; then
    echo "bootstrap: building the dashboard (web/dist)"
    (cd web && npm run build --silent >/dev/null)
  fi
elif [ ! -f web/dist/index.html ]; then
  echo "bootstrap: npm is not installed, so the dashboard is not built; install Node.js 20+" >&2
fi
