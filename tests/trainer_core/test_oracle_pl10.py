"""The real Lightning 1.0 as a test oracle: the same user code (oracle/scenarios.py) runs under
pytorch-lightning 1.0.8 and under trainer_core, and the observable behaviour must match:
callback hook order, logger rows (keys and steps), callback/progress-bar metric keys,
counters, ModelCheckpoint top-k files, validation cadence.

The oracle lives in its own venv (build it with `bash tests/trainer_core/oracle/setup_pl10.sh`;
set RUNYARD_PL10_PYTHON to use another interpreter). Without it these tests are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).parent / "oracle" / "scenarios.py"
REPO = Path(__file__).resolve().parents[2]
ORACLE_PYTHON = os.environ.get("RUNYARD_PL10_PYTHON", "/tmp/pl10/bin/python")


def _run(python: str, framework: str, workdir: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [python, str(SCENARIOS), framework, str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"{framework} scenarios failed:\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    if not os.path.exists(ORACLE_PYTHON):
        pytest.skip("Lightning 1.0 oracle not built: bash tests/trainer_core/oracle/setup_pl10.sh")
    return {
        "pl10": _run(ORACLE_PYTHON, "pl10", tmp_path_factory.mktemp("pl10")),
        "core": _run(sys.executable, "core", tmp_path_factory.mktemp("core")),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario", ["hook_order", "logging_layout", "checkpoint_top_k", "validation_cadence"]
)
def test_trainer_core_behaves_like_lightning_1_0(
    results: dict[str, dict[str, Any]], scenario: str
) -> None:
    assert results["core"][scenario] == results["pl10"][scenario]
