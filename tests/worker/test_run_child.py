"""The run child: trains the spec's entrypoints with trainer_core, reports metrics and
checkpoints as notices, exports verified TorchScript and ONNX files, and fails with a clear
message for unknown entrypoints or user code that raises."""

import sys
import threading
from pathlib import Path

import onnxruntime
import pytest
import torch

from runyard.schemas import ExperimentSpec
from worker.child_plan import ChildPlan
from worker.process_group import RunProcess, child_environment

REPO = Path(__file__).resolve().parents[2]


def spec(model: str = "tests.worker.tiny_models:TinyClassifier", **overrides) -> ExperimentSpec:
    data = {
        "name": "tiny",
        "project": "p",
        "model": {"entrypoint": model, "init_args": {"lr": 0.1}},
        "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
        "trainer": {"max_epochs": 2, "seed": 7, "num_sanity_val_steps": 0, "log_every_n_steps": 1},
        "checkpoint": {"monitor": "val_loss", "save_top_k": 1, "save_last": True},
    }
    data.update(overrides)
    return ExperimentSpec.model_validate(data)


class ChildRun:
    def __init__(self, workdir: Path, plan: ChildPlan) -> None:
        self.workdir = workdir
        self.notices: list[dict] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "plan.json").write_text(plan.model_dump_json())
        env = child_environment(
            slots=["0"],
            use_gpus=False,
            run_id=plan.run_id,
            attempt=plan.attempt,
            server_url="http://unused",
            run_token="ry_run_x",
            extra={"PYTHONPATH": str(REPO)},
        )
        self.process = RunProcess(
            [sys.executable, "-m", "worker.run_child", "plan.json"],
            cwd=workdir,
            env=env,
            on_line=self._line,
            on_notice=self._notice,
        )
        self.process.start()
        self.exit = self.process.wait(timeout=240)

    def _line(self, stream: str, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def _notice(self, notice: dict) -> None:
        with self._lock:
            self.notices.append(notice)

    def of_kind(self, kind: str) -> list[dict]:
        return [n for n in self.notices if n["kind"] == kind]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> ChildRun:
    workdir = tmp_path_factory.mktemp("child") / "run"
    return ChildRun(workdir, ChildPlan(run_id="r1", attempt=1, spec=spec()))


@pytest.mark.slow
def test_training_reports_metrics_for_each_logged_step(trained):
    assert trained.exit.outcome == "completed", "\n".join(trained.lines[-30:])
    points = [p for n in trained.of_kind("metrics") for p in n["points"]]
    keys = {p["key"] for p in points}
    assert {"train_loss", "val_loss"} <= keys
    steps = [p["step"] for p in points if p["key"] == "train_loss"]
    assert steps == sorted(steps) and len(steps) == len(set(steps))


@pytest.mark.slow
def test_saved_checkpoints_are_handed_over_in_the_outbox(trained):
    checkpoints = trained.of_kind("checkpoint")
    assert checkpoints and any(c["is_last"] for c in checkpoints)
    for notice in checkpoints:
        assert (trained.workdir / notice["path"]).is_file()  # still there despite top-k pruning
        assert notice["path"].startswith("outbox/")


@pytest.mark.slow
def test_exports_match_the_eager_model_and_load_with_their_runtimes(trained):
    exports = {n["format"]: n for n in trained.of_kind("export")}
    assert set(exports) == {"torchscript", "onnx"}
    for notice in exports.values():
        assert notice["max_abs_diff"] <= 1e-4
        assert notice["input_signature"]["inputs"][0]["shape"][1:] == [8]
    scripted = torch.jit.load(str(trained.workdir / exports["torchscript"]["path"]))
    session = onnxruntime.InferenceSession(str(trained.workdir / exports["onnx"]["path"]))
    sample = torch.randn(5, 8)
    (onnx_out,) = session.run(None, {"input": sample.numpy()})  # batch size is dynamic
    assert torch.allclose(scripted(sample), torch.from_numpy(onnx_out), atol=1e-4)


@pytest.mark.slow
def test_progress_lines_count_epochs(trained):
    progress = [line for line in trained.lines if line.startswith("[runyard] epoch")]
    assert [line.split()[2] for line in progress] == ["1/2", "2/2"]


@pytest.mark.parametrize(
    ("model", "named"),
    [
        ("no_such_package.models:Net", "no_such_package.models"),
        ("tests.worker.tiny_models:NoSuchNet", "NoSuchNet"),
    ],
)
def test_unknown_entrypoint_fails_naming_the_module_or_class(tmp_path, model, named):
    run = ChildRun(tmp_path / "run", ChildPlan(run_id="r", attempt=1, spec=spec(model)))
    assert run.exit.outcome == "failed"
    [failure] = run.of_kind("failure")
    assert failure["reason"].startswith("EntrypointError") and named in failure["reason"]


def test_user_code_that_raises_fails_with_its_traceback(tmp_path):
    plan = ChildPlan(
        run_id="r", attempt=1, spec=spec("tests.worker.tiny_models:CrashingClassifier")
    )
    run = ChildRun(tmp_path / "run", plan)
    [failure] = run.of_kind("failure")
    assert failure["reason"] == "RuntimeError: loss exploded at batch 0"
    assert "training_step" in failure["traceback"]


def test_code_bundle_directory_is_importable(tmp_path):
    code = tmp_path / "code" / "bundled"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "net.py").write_text(
        "from tests.worker.tiny_models import TinyClassifier\n"
        "class BundledNet(TinyClassifier):\n    pass\n"
    )
    plan = ChildPlan(
        run_id="r",
        attempt=1,
        spec=spec("bundled.net:BundledNet", trainer={"max_epochs": 1, "limit_train_batches": 1}),
        code_dir=str(tmp_path / "code"),
    )
    run = ChildRun(tmp_path / "run", plan)
    assert run.exit.outcome == "completed", "\n".join(run.lines[-20:])


@pytest.mark.slow
def test_resuming_from_a_checkpoint_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    def final_weights(run: ChildRun) -> dict:
        [last] = [n for n in run.of_kind("checkpoint") if n["is_last"]][-1:]
        return torch.load(run.workdir / last["path"], weights_only=True)["state_dict"]

    straight = ChildRun(
        tmp_path / "straight",
        ChildPlan(
            run_id="r",
            attempt=1,
            spec=spec(
                trainer={"max_epochs": 4, "seed": 3, "num_sanity_val_steps": 0},
                export={"formats": []},
            ),
        ),
    )
    first = ChildRun(
        tmp_path / "first",
        ChildPlan(
            run_id="r",
            attempt=1,
            spec=spec(
                trainer={"max_epochs": 2, "seed": 3, "num_sanity_val_steps": 0},
                export={"formats": []},
            ),
        ),
    )
    [last] = [n for n in first.of_kind("checkpoint") if n["is_last"]][-1:]
    resumed = ChildRun(
        tmp_path / "resumed",
        ChildPlan(
            run_id="r",
            attempt=2,
            spec=spec(
                trainer={"max_epochs": 4, "seed": 3, "num_sanity_val_steps": 0},
                export={"formats": []},
            ),
            resume_checkpoint=str(first.workdir / last["path"]),
        ),
    )
    assert resumed.exit.outcome == "completed", "\n".join(resumed.lines[-20:])
    expected, got = final_weights(straight), final_weights(resumed)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
