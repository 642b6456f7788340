#!/usr/bin/env bash
# Lightning 1.0.8's own test suite as a yardstick for trainer_core (a development tool, not CI).
#
#   bash scripts/lightning_suite.sh LIGHTNING_GIT_DIR [TEST_PATH ...]
#
# LIGHTNING_GIT_DIR is a clone (bare or not) of the Lightning repository holding the 1.0.8 tag.
# The tag's tests/ tree runs twice: against the real pytorch-lightning 1.0.8 and against
# trainer_core behind a shim that only maps module names (pytorch_lightning -> trainer_core).
# Both sides get the same era fixes (numpy aliases, torch's _LRScheduler name,
# TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, setuptools<70, omegaconf) and a generated dataset in
# MNIST's file format; each side runs in its own copy of the tree with its own pytest temp dir.
# Prints per-file pass counts for both sides and the trainer_core failures where 1.0.8 passes
# (scripts/lightning_suite/report.py; categories in scripts/lightning_suite/classification.py).
# Nothing of Lightning's is copied into the project: the tree lives under $SUITE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
GIT_DIR_ARG=${1:?usage: scripts/lightning_suite.sh LIGHTNING_GIT_DIR [TEST_PATH ...]}
shift
[ -d "$GIT_DIR_ARG/.git" ] && GIT_DIR_ARG=$GIT_DIR_ARG/.git
SUITE_DIR=${SUITE_DIR:-$REPO/.lightning-suite}
SIDES=${SUITE_SIDES:-"pl10 core"}
TIMEOUT=${SUITE_TIMEOUT:-300}
TAG=${SUITE_TAG:-1.0.8}
HERE=$REPO/scripts/lightning_suite
PROJECT_SITE=$("$REPO/.venv/bin/python" -c "import site; print(site.getsitepackages()[0])")
mkdir -p "$SUITE_DIR"

if [ ! -d "$SUITE_DIR/src/tests" ]; then
  echo "suite: extracting tests/ of $TAG"
  mkdir -p "$SUITE_DIR/src/tests"
  # The subtree alone: a fetched snapshot may lack large blobs elsewhere (docs' images),
  # which make `git archive TAG tests` fail.
  git --git-dir="$GIT_DIR_ARG" archive --format=tar "$TAG:tests" | tar -x -C "$SUITE_DIR/src/tests"
fi
"$REPO/.venv/bin/python" "$HERE/make_mnist.py" "$SUITE_DIR/Datasets"

make_venv() {  # side, packages...
  local side=$1; shift
  local venv=$SUITE_DIR/venv-$side
  [ -f "$venv/.ready" ] && return
  echo "suite: building $venv"
  python3 -m venv "$venv"
  local site_dir
  site_dir=$("$venv/bin/python" -c "import site; print(site.getsitepackages()[0])")
  # the project's packages (torch, numpy, ...) come after the side's own
  echo "$PROJECT_SITE" > "$site_dir/zz_project.pth"
  "$venv/bin/pip" install --disable-pip-version-check -q "$@" 2>&1 | grep -v 'is ignored' || true
  echo "$HERE" > "$site_dir/zzz_suite.pth"
  echo "import era_fixes" >> "$site_dir/zzz_suite.pth"
  if [ "$side" = core ]; then
    echo "$REPO" >> "$site_dir/zzz_suite.pth"  # trainer_core from this work tree
    echo "import name_shim; name_shim.install()" >> "$site_dir/zzz_suite.pth"
  fi
  touch "$venv/.ready"
}
make_venv pl10 "pytorch-lightning==1.0.8" "future==1.0.0" "setuptools<70" "omegaconf==2.3.0"
make_venv core "setuptools<70" "omegaconf==2.3.0"

export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
export LIGHTNING_SUITE_DATASETS=$SUITE_DIR/Datasets  # era_fixes serves MNIST downloads from here
for side in $SIDES; do
  run=$SUITE_DIR/run-$side
  rm -rf "$run" "$SUITE_DIR/tmp-$side"
  mkdir -p "$run"
  cp -r "$SUITE_DIR/src/tests" "$run/tests"
  ln -s "$SUITE_DIR/Datasets" "$run/Datasets"
  echo "suite: running the $side side (log: $SUITE_DIR/$side.log)"
  # one side after the other: 1.0.8's metric tests rendezvous on a fixed port (8088)
  # started as no ddp rank, so the relaunched ranks can tell they are ones (rank_report.py)
  (cd "$run" && env -u LOCAL_RANK -u PL_IN_DDP_SUBPROCESS PYTHONPATH=$run \
    "$SUITE_DIR/venv-$side/bin/python" -m pytest "${@:-tests}" -p rank_report \
    -c /dev/null --rootdir="$run" -p no:cacheprovider -q --timeout="$TIMEOUT" --continue-on-collection-errors \
    --basetemp="$SUITE_DIR/tmp-$side" --junitxml="$SUITE_DIR/$side.xml" \
    > "$SUITE_DIR/$side.log" 2>&1 || true)
  echo "$side: $(tail -1 "$SUITE_DIR/$side.log")"
done
# a run of some test paths is measured on those files only
"$REPO/.venv/bin/python" "$HERE/report.py" "$SUITE_DIR/pl10.xml" "$SUITE_DIR/core.xml" ${1:+--measured}
