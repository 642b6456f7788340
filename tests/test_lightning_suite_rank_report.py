"""The Lightning suite harness (scripts/lightning_suite.sh): a ddp rank that re-executes the
harness's pytest command writes no JUnit report over the launching run's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "scripts" / "lightning_suite"


def _pytest_with_report(tmp_path: Path, **env: str) -> Path:
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert True\n")
    report = tmp_path / "report.xml"
    base = {k: v for k, v in os.environ.items() if k not in ("LOCAL_RANK", "PL_IN_DDP_SUBPROCESS")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "rank_report",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "test_one.py",
        ],
        cwd=tmp_path,
        env=base | {"PYTHONPATH": str(PLUGIN_DIR)} | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return report


def test_the_launching_run_writes_its_report(tmp_path: Path) -> None:
    assert _pytest_with_report(tmp_path).exists()


@pytest.mark.parametrize("env", [{"LOCAL_RANK": "1"}, {"PL_IN_DDP_SUBPROCESS": "1"}])
def test_a_relaunched_rank_writes_none(tmp_path: Path, env: dict[str, str]) -> None:
    assert not _pytest_with_report(tmp_path, **env).exists()
