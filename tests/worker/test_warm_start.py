"""The warm launcher forks run children that behave like freshly started ones: isolated
environment (nothing of the launcher's, the run's token only), own process group for cancel,
exits classified the same way, and their own random state."""

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from runyard.schemas import ExperimentSpec
from tests.worker.polling import wait_for
from worker.child_plan import ChildPlan
from worker.process_group import RunProcess, child_environment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def launcher():
    socket_path = Path(tempfile.mkdtemp(prefix="ry-")) / "l.sock"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "LAUNCHER_ONLY_SECRET": "x"}
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.warm_start", str(socket_path)], env=env, cwd=REPO
    )
    wait_for(socket_path.exists, timeout=60, what="the launcher socket")
    yield socket_path
    process.terminate()
    process.wait(timeout=10)


def start(workdir: Path, launcher: Path, model: str, **trainer) -> tuple[RunProcess, list, list]:
    spec = ExperimentSpec.model_validate(
        {
            "name": "w",
            "project": "p",
            "model": {"entrypoint": f"tests.worker.tiny_models:{model}"},
            "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
            "trainer": {"max_epochs": 1, "limit_train_batches": 2, "num_sanity_val_steps": 0}
            | trainer,
            "export": {"formats": []},
        }
    )
    workdir.mkdir(parents=True)
    plan = workdir / "plan.json"
    plan.write_text(ChildPlan(run_id="r", attempt=1, spec=spec).model_dump_json())
    lines: list[str] = []
    notices: list[dict] = []
    lock = threading.Lock()

    def on_line(stream, line):
        with lock:
            lines.append(line)

    process = RunProcess(
        ["false"],  # fails if used: these runs complete only when the launcher forks them
        cwd=workdir,
        env=child_environment(
            slots=["0"],
            use_gpus=False,
            run_id="r",
            attempt=1,
            server_url="s",
            run_token="ry_run_token",
            extra={"PYTHONPATH": str(REPO)},
        ),
        on_line=on_line,
        on_notice=notices.append,
        launcher=launcher,
        launcher_argv=[str(plan)],
    )
    process.start()
    return process, lines, notices


def reported_env(lines: list[str]) -> dict:
    [line] = [ln for ln in lines if ln.startswith("ENV ")]
    return json.loads(line[4:])


def test_a_warm_child_trains_in_its_workdir_with_only_the_runs_environment(tmp_path, launcher):
    process, lines, notices = start(tmp_path / "run", launcher, "EnvReporter")
    result = process.wait(timeout=120)
    assert result.outcome == "completed", "\n".join(lines[-20:])
    seen = reported_env(lines)
    assert seen["cwd"] == str(tmp_path / "run")
    assert seen["env"]["RUNYARD_RUN_TOKEN"] == "ry_run_token"
    assert "LAUNCHER_ONLY_SECRET" not in seen["env"]
    assert any(n["kind"] == "metrics" for n in notices)


def test_warm_children_do_not_share_random_state(tmp_path, launcher):
    draws = []
    for name in ("a", "b"):
        process, lines, _ = start(tmp_path / name, launcher, "EnvReporter")
        process.wait(timeout=120)
        draws.append(next(ln for ln in lines if ln.startswith("RAND ")))
    assert draws[0] != draws[1]


def test_cancel_stops_a_warm_child_and_its_group(tmp_path, launcher):
    process, lines, _ = start(
        tmp_path / "run", launcher, "SlowClassifier", max_epochs=100, limit_train_batches=1.0
    )
    wait_for(lambda: any("slow step" in ln for ln in lines), timeout=60, what="training")
    process.cancel(grace_seconds=1, reason="stop")
    assert process.wait(timeout=20).outcome == "canceled"


def test_a_segfault_in_a_warm_child_is_reported_as_such(tmp_path, launcher):
    process, _, _ = start(tmp_path / "run", launcher, "SegfaultingClassifier")
    result = process.wait(timeout=120)
    assert result.outcome == "killed" and "SIGSEGV" in result.reason


def test_without_a_launcher_the_child_starts_fresh(tmp_path):
    lines: list[str] = []
    process = RunProcess(
        [sys.executable, "-c", "print('fresh')"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        on_line=lambda _s, line: lines.append(line),
        launcher=tmp_path / "nobody-listens.sock",
        launcher_argv=["plan.json"],
    )
    process.start()
    assert process.wait(timeout=20).outcome == "completed" and lines == ["fresh"]
