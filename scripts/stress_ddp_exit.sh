#!/usr/bin/env bash
# Stress check that 2-process ddp runs end cleanly: runs the distributed tests' training
# script (2 ranks, checkpoints and logger on) N times (default 50) and fails
# on the first run whose exit code is not 0 or whose output shows a rank aborting
# ("terminate called ...", SIGABRT). Prints one JSON line with the counts, and a progress
# line per run on stderr (a loaded machine may not finish all N; the last line says how far).
#   bash scripts/stress_ddp_exit.sh [N]
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
# shellcheck disable=SC1091
. .venv/bin/activate
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
ok=0
for i in $(seq "$N"); do
  rm -rf "$out/run"
  mkdir -p "$out/run"
  log=$(python -m tests.trainer_core.distributed.train_script --out "$out/run" --checkpoints 2>&1)
  code=$?
  if [ $code -ne 0 ] || grep -q -E "terminate called|Aborted|SIGABRT" <<<"$log"; then
    echo "run $i failed (exit $code):"; tail -20 <<<"$log"
    echo "{\"bench\": \"ddp_exit_stress\", \"runs\": $i, \"clean\": $ok, \"failed\": 1}"
    exit 1
  fi
  ok=$((ok + 1))
  echo "stress: run $i of $N clean ($(date -u +%T))" >&2
done
echo "{\"bench\": \"ddp_exit_stress\", \"runs\": $N, \"clean\": $ok, \"failed\": 0}"
