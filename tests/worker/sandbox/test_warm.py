"""Spare sandboxes: a run is forked from a supervisor that already imported torch, with the
run's own environment and random state; a replacement spare follows; a cold start (no spare)
works too."""

import json

from runyard.schemas import ExperimentSpec
from tests.worker.polling import wait_for
from tests.worker.sandbox.conftest import (
    REPO,
    Recorder,
    Sandboxes,
    needs_sandbox,
    sandbox_config,
)
from worker.child_plan import ChildPlan
from worker.sandbox import SandboxPool, SandboxProcess
from worker.warm_start import PRELOADED_MODULES

pytestmark = needs_sandbox


def start_run(process: SandboxProcess, model: str = "EnvReporter") -> Recorder:
    spec = ExperimentSpec.model_validate(
        {
            "name": "w",
            "project": "p",
            "model": {"entrypoint": f"tests.worker.tiny_models:{model}"},
            "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
            "trainer": {"max_epochs": 1, "limit_train_batches": 2, "num_sanity_val_steps": 0},
            "export": {"formats": []},
        }
    )
    plan = process.work_dir / "plan.json"
    plan.write_text(ChildPlan(run_id="r", attempt=1, spec=spec).model_dump_json())
    recorder = Recorder()
    process.start(
        plan=plan,
        env={"RUNYARD_RUN_TOKEN": "ry_run_token", "PYTHONPATH": str(REPO)},
        on_line=recorder.on_line,
        on_notice=recorder.on_notice,
    )
    return recorder


def reported(recorder: Recorder) -> tuple[dict, str]:
    [env_line] = [ln for ln in recorder.text() if ln.startswith("ENV ")]
    [rand_line] = [ln for ln in recorder.text() if ln.startswith("RAND ")]
    return json.loads(env_line[4:]), rand_line


def test_spare_sandboxes_fork_runs_with_their_own_environment_and_random_state(tmp_path):
    pool = SandboxPool(sandbox_config(tmp_path, spares=1, preload=PRELOADED_MODULES))
    pool.start()
    held = Sandboxes(pool)
    try:
        first = held.acquire()
        wait_for(lambda: first.ready, timeout=180, what="the spare to preload torch")
        run = start_run(first)
        result = first.wait(timeout=180)
        assert result.outcome == "completed", run.lines[-20:]
        seen, first_draw = reported(run)
        assert seen["cwd"] == str(first.work_dir)
        assert seen["env"]["RUNYARD_RUN_TOKEN"] == "ry_run_token"
        assert any(n["kind"] == "metrics" for n in run.notices)

        second = held.acquire()  # the replacement spare
        assert second.uid != first.uid
        run = start_run(second)
        assert second.wait(timeout=180).outcome == "completed", run.lines[-20:]
        assert reported(run)[1] != first_draw
    finally:
        held.release_all()
        pool.close()


def test_a_cold_sandbox_runs_the_run_child_too(sandboxes):
    process = sandboxes.acquire()  # no spares, nothing preloaded
    run = start_run(process)
    result = process.wait(timeout=180)
    assert result.outcome == "completed", run.lines[-20:]
    assert reported(run)[0]["env"]["HOME"] == str(process.work_dir)


def test_acquire_hands_out_the_spare_and_starts_a_replacement(tmp_path):
    pool = SandboxPool(sandbox_config(tmp_path, spares=1))
    pool.start()
    held = Sandboxes(pool)
    try:
        wait_for(lambda: pool.ready_spares == 1, timeout=60, what="a ready spare")
        taken = held.acquire()
        assert taken.ready
        wait_for(lambda: pool.ready_spares == 1, timeout=60, what="the replacement spare")
        process, rec = held.python("print('from the spare')", process=taken)
        assert process.wait(timeout=60).outcome == "completed" and rec.text() == ["from the spare"]
    finally:
        held.release_all()
        pool.close()
