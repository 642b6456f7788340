#!/usr/bin/env bash
# The main job (for now): set up the project, then train the digits example with trainer_core,
# keep the best checkpoint and export it to TorchScript and ONNX. Extra arguments go to the
# example (e.g. `bash scripts/quickstart.sh --max-epochs 3`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
# shellcheck disable=SC1091
. .venv/bin/activate
python -m examples.digits "$@"
