"""The CLI against a whole local stack with a worker: the monitored metric and duration of
finished runs, `show` with metrics and checkpoints, `download` with the real file name,
`cancel --wait` of a running run, and `logs -f` into a closed pipe."""

import signal
import subprocess
import sys

import pytest
import torch

from runyard.cli import main
from runyard.client import Client
from runyard.local_stack import LocalStack, StackOptions
from tests.e2e.stack import free_port
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow]


def spec(model: str, **trainer) -> dict:
    return {
        "name": "cli-e2e",
        "project": "examples",
        "model": {"entrypoint": f"tests.worker.tiny_models:{model}"},
        "datamodule": {"entrypoint": "tests.worker.tiny_models:TinyData"},
        "trainer": {"max_epochs": 2, "num_sanity_val_steps": 0, "log_every_n_steps": 1} | trainer,
        "checkpoint": {"monitor": "val_loss", "save_top_k": 1},
        "export": {"formats": ["onnx"]},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = LocalStack(
        StackOptions(
            data_dir=tmp_path_factory.mktemp("cli-stack"),
            port=free_port(),
            extra_env={"RUNYARD_SCHEDULER_TICK_SECONDS": "0.2"},
            say=lambda _m: None,
        )
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def finished_run(stack) -> str:
    with Client(stack.options.url, stack.admin_token) as client:
        [run_id] = client.submit(spec("TinyClassifier"))["run_ids"]
        run = client.wait(run_id, timeout=180, poll=0.2)
        assert run["state"] == "completed", run.get("exit_reason")
        wait_for(lambda: client.exports(run_id), timeout=60, what="the export to be listed")
    return run_id


@pytest.fixture
def env(stack, monkeypatch):
    monkeypatch.setenv("RUNYARD_URL", stack.options.url)
    monkeypatch.setenv("RUNYARD_TOKEN", stack.admin_token)


def test_runs_shows_the_duration_and_the_monitored_metrics_value(env, finished_run, capsys):
    assert main(["runs"]) == 0
    [row] = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith(finished_run[:8])
    ]
    cells = row.split()
    assert cells[1:4] == ["cli-e2e", "examples", "completed"]
    assert any(cell.startswith("val_loss=") and cell != "val_loss=nan" for cell in cells), row
    assert cells[-2].endswith("s")  # a duration such as 7s or 1m 02s


def test_show_lists_final_metrics_checkpoints_and_exports(env, finished_run, capsys):
    assert main(["show", finished_run[:10]]) == 0
    shown = capsys.readouterr().out
    assert "state       completed" in shown and "final metrics:" in shown and "val_loss" in shown
    assert "checkpoints:" in shown and "best" in shown and "onnx" in shown


def test_download_of_the_best_checkpoint_keeps_its_real_name(env, finished_run, capsys, tmp_path):
    assert main(["download", finished_run[:8], "-o", str(tmp_path)]) == 0
    [saved] = list(tmp_path.iterdir())
    assert saved.name.startswith(f"cli-e2e-{finished_run[:8]}-epoch=") and saved.suffix == ".ckpt"
    assert f"saved {saved}" in capsys.readouterr().out
    checkpoint = torch.load(saved, weights_only=True)
    assert "state_dict" in checkpoint


def test_download_of_an_export_to_a_file_path(env, finished_run, capsys, tmp_path):
    target = tmp_path / "model.onnx"
    assert main(["download", finished_run[:8], "--export", "onnx", "-o", str(target)]) == 0
    assert target.stat().st_size > 0 and not (tmp_path / "model.onnx.part").exists()


def test_download_of_an_export_the_run_did_not_make_says_what_it_has(env, finished_run, capsys):
    assert main(["download", finished_run[:8], "--export", "torchscript"]) == 1
    assert "has no torchscript export (it has: onnx)" in capsys.readouterr().err


def test_cancel_of_a_running_run_says_cancel_requested_and_wait_waits(stack, env, capsys):
    with Client(stack.options.url, stack.admin_token) as client:
        [run_id] = client.submit(spec("SlowClassifier", max_epochs=50))["run_ids"]
        wait_for(
            lambda: client.run(run_id)["state"] == "running",
            timeout=120,
            what="the run to be running",
        )
    assert main(["cancel", run_id[:8], "--wait"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"run {run_id[:8]}: cancel requested (it was running; its worker stops it)"
    assert out[-1] == f"run {run_id[:8]}: canceled"


def test_following_logs_into_a_closed_pipe_ends_quietly(stack, env, finished_run):
    result = subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m runyard.cli logs {finished_run[:8]} -f | head -n 1; "
            "echo ${PIPESTATUS[1]}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == "0"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def _scalars(folder) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    [events] = list(folder.rglob("events.out.tfevents.*"))
    accumulator = EventAccumulator(str(events.parent))
    accumulator.Reload()
    return set(accumulator.Tags()["scalars"])


def test_a_finished_run_keeps_its_tensorboard_event_files(env, finished_run, capsys, tmp_path):
    logdir = tmp_path / "tb"
    assert main(["tensorboard", finished_run[:8], "--download-only", "--logdir", str(logdir)]) == 0
    [folder] = [p for p in logdir.iterdir() if p.is_dir()]
    assert folder.name == f"cli-e2e-{finished_run[:8]}"
    assert {"train_loss", "val_loss"} <= _scalars(folder)
    assert f"tensorboard --logdir {logdir}" in capsys.readouterr().out


def test_tensorboard_serves_the_downloaded_runs(env, finished_run, tmp_path):
    import httpx

    port = free_port()
    printed = tmp_path / "printed.txt"
    argv = [sys.executable, "-m", "runyard.cli", "tensorboard", finished_run[:8]]
    argv += ["--port", str(port), "--no-browser", "--logdir", str(tmp_path / "tb")]
    with printed.open("w") as output:
        process = subprocess.Popen(
            argv,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(
            lambda: f"TensorBoard: {url}" in printed.read_text(),
            timeout=120,
            what="the CLI to print TensorBoard's URL",
        )
        runs = httpx.get(f"{url}data/runs", timeout=10).json()
        assert any(name.startswith(f"cli-e2e-{finished_run[:8]}") for name in runs), runs
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert "Traceback" not in printed.read_text()


def test_tensorboard_of_a_run_without_event_files_says_why(stack, env, capsys):
    with Client(stack.options.url, stack.admin_token) as client:
        [run_id] = client.submit(spec("TinyClassifier"))["run_ids"]
        client.cancel(run_id)
    assert main(["tensorboard", run_id[:8], "--download-only"]) == 1
    assert "stores them when the run ends" in capsys.readouterr().err
