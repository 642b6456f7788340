#!/usr/bin/env bash
# Builds the Lightning 1.0 oracle: a venv in ${RUNYARD_PL10_VENV:-/tmp/pl10} holding only
# pytorch-lightning 1.0.8 (+ future); torch and the rest come from the project's .venv through
# a .pth file placed after the oracle's own packages. Used by tests/trainer_core/test_oracle_pl10.py.
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=${RUNYARD_PL10_VENV:-/tmp/pl10}
python3 -m venv "$VENV"
.venv/bin/python -c "import site; print(site.getsitepackages()[0])" > "$VENV/lib/python3.11/site-packages/zz_project.pth"
"$VENV/bin/pip" install --disable-pip-version-check -q --no-deps "pytorch-lightning==1.0.8" future
"$VENV/bin/python" -c "import numpy; numpy.Inf = numpy.inf; import pytorch_lightning as pl; print('oracle ready:', pl.__version__)"
