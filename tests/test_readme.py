"""Every fenced block of the README is run here (or by the test named for it) against a real
local stack: the CLI, SDK and curl examples, the Prometheus scrape config, the compose and
extra-worker commands (as far as they run without Docker), and the trainer_core snippets.
A block without a handler fails, so a new README example is tested or it does not go in."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from runyard.client import Client
from runyard.local_stack import LocalStack, StackOptions
from tests.e2e.stack import free_port
from tests.install.fresh import clean_env
from tests.readme import Block, blocks
from tests.worker.polling import wait_for

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
METRICS_TOKEN = "readme-scrape-token-" + "m" * 24
SLOW_MODEL = """
import time

import torch

import trainer_core as pl


class SlowModel(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        time.sleep(0.2)
        print("slow step", flush=True)
        return self.layer(batch).pow(2).mean()

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.randn(64, 4), batch_size=4)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)
"""
MY_SPEC = """
name: my-experiment
project: mine
model: {entrypoint: "mycode.slow:SlowModel"}
trainer: {max_epochs: 100}
export: {formats: []}
"""


@dataclass
class Place:
    """A user's directory with the examples in it and a stack whose data is ./.runyard."""

    root: Path
    stack: LocalStack
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.stack.options.url

    @property
    def hostport(self) -> str:
        return self.url.removeprefix("http://")

    def sh(self, command: str, timeout: float = 300, stdin: str | None = None) -> str:
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + command],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, (
            f"{command!r} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout + result.stderr

    def client(self) -> Client:
        return Client(self.url, self.stack.admin_token)


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(
        REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "my_code" / "mycode").mkdir(parents=True)
    (root / "my_code" / "mycode" / "__init__.py").write_text("")
    (root / "my_code" / "mycode" / "slow.py").write_text(SLOW_MODEL)
    (root / "my_spec.yaml").write_text(MY_SPEC)
    config = root / "config"
    stack = LocalStack(
        StackOptions(
            data_dir=root / ".runyard",
            port=free_port(),
            record_in=config,
            extra_env={
                "RUNYARD_METRICS_TOKEN": METRICS_TOKEN,
                "RUNYARD_SCHEDULER_TICK_SECONDS": "0.2",
            },
            say=lambda _m: None,
        )
    )
    env = clean_env(config)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(REPO)  # `python -m examples.digits` as from the checkout
    try:
        stack.up()
        yield Place(root, stack, env)
    finally:
        stack.down()


def _short_runs(output: str) -> list[str]:
    return re.findall(r"^  run ([0-9a-f]{8})$", output, re.MULTILINE)


# --- handlers, one per block -----------------------------------------------------------------


def the_two_commands(block: Block, place: Place) -> None:
    main_command, test_command = block.commands()
    # The main command runs on a fresh clone in tests/install/test_quickstart.py; the test
    # command is what CI runs, around this very test.
    from tests.install.test_quickstart import readme_main_command

    assert readme_main_command() == main_command == "bash scripts/quickstart.sh"
    assert test_command == "bash scripts/test.sh"
    subprocess.run(["bash", "-n", str(REPO / "scripts" / "test.sh")], check=True)
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def install_block(block: Block, place: Place) -> None:
    # Run as written (on a wheel) by tests/install/test_wheel.py; here: every command is in it.
    from tests.install.test_wheel import install_script

    script = install_script("/tmp/runyard.whl", 8000)
    for command in block.commands():
        assert command.split()[0] in script, command


def diagram(block: Block, place: Place) -> None:
    assert not block.language  # a picture of the architecture, nothing to run


def cli_block(block: Block, place: Place) -> None:
    first: str | None = None
    bundled: str | None = None
    for command in block.commands():
        if command.startswith("runyard login"):
            command = command.replace("https://runyard.example.org", place.url)
            out = place.sh(command, stdin=place.stack.admin_token + "\n")
            assert "signed in to" in out
            continue
        if "<run>" in command:
            assert first is not None
            target = bundled if command.startswith("runyard cancel") else first
            if command.startswith("runyard cancel"):
                with place.client() as client:
                    [found] = client.runs(id_prefix=target)
                    run_id = found["id"]
                    wait_for(
                        lambda c=client, r=run_id: c.run(r)["state"] == "running",
                        timeout=120,
                        what="the bundled run to be running",
                    )
            command = command.replace("<run>", target or "")
        if command.startswith("runyard tensorboard"):
            _tensorboard(place, command)
            continue
        out = place.sh(command, timeout=600)
        if command.startswith("runyard submit examples/digits.yaml --follow"):
            [first] = _short_runs(out)
            assert "== completed" in out
        elif "--bundle" in command:
            [bundled] = _short_runs(out)
        elif command.startswith("runyard cancel"):
            assert "cancel requested" in out and out.strip().endswith("canceled")
        elif command.startswith("runyard download"):
            assert list(place.root.glob(f"digits-mlp-{first}-epoch=*.ckpt")), out
        elif "--dry-run" in command:
            assert "valid: 1 run(s) in project examples" in out


def _tensorboard(place: Place, command: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port {port} --no-browser"],
        cwd=place.root,
        env=place.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def listed() -> list[str]:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/data/runs", timeout=2).json()
            except (httpx.HTTPError, ValueError):
                return []

        assert wait_for(listed, timeout=120, what="TensorBoard to list the run")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def sdk_block(block: Block, place: Place) -> None:
    result = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=place.root,
        env=place.env,  # no RUNYARD_URL or RUNYARD_TOKEN: Client() finds the local stack
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("completed "), result.stdout
    assert "'is_best': True" in result.stdout


def curl_block(block: Block, place: Place) -> None:
    commands = [c.replace("127.0.0.1:8000", place.hostport) for c in block.commands()]
    token_line, *requests = commands
    answers = []
    for request in requests:
        if "<run-id>" in request:
            run_id = json.loads(answers[1])["run_ids"][0]  # the experiment submitted above
            request = request.replace("<run-id>", run_id)
            request = request.replace("curl -N", "curl -N --max-time 300")
        answers.append(place.sh(f"{token_line}\n{request}", timeout=400))
    project, submitted, listed, events = answers
    assert '"name":"examples"' in project or "exists already" in project
    assert '"run_ids":["' in submitted and '"items":[' in listed
    assert "event: state" in events and "event: end" in events


def prometheus_block(block: Block, place: Place) -> None:
    config = yaml.safe_load(block.text.replace("<RUNYARD_METRICS_TOKEN>", METRICS_TOKEN))
    [job] = config["scrape_configs"]
    [target] = job["static_configs"][0]["targets"]
    assert target == "127.0.0.1:8000"
    # As Prometheus scrapes: a Bearer credential on GET http://<target><metrics_path>.
    response = httpx.get(
        f"{place.url}{job['metrics_path']}",
        headers={"Authorization": f"Bearer {job['authorization']['credentials']}"},
        timeout=30,
    )
    assert response.status_code == 200
    for gauge in ("runyard_runs{", "runyard_queue_depth{", "runyard_worker_slots_free{"):
        assert gauge in response.text


def compose_block(block: Block, place: Place) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    secrets_line, up, logs, token, worker = block.commands()
    password = place.sh(f"{secrets_line}\necho $RUNYARD_REDIS_PASSWORD").strip()
    assert re.fullmatch(r"[0-9a-f]{48}", password)  # needs no escaping in a URL
    assert set(up.split()[4:]) <= set(compose["services"])
    assert "RUNYARD_REDIS_PASSWORD" in str(compose["services"]["redis"])
    # The server prints the admin token after this line; the local stack's log has the same.
    shown = place.sh(
        logs.replace("docker compose logs server", f"cat {place.stack.logs}/server.log")
    )
    assert place.stack.admin_token in shown
    created = place.sh(
        token.replace("http://<host>:8000", place.url).replace(
            "<admin token>", place.stack.admin_token
        )
    )
    assert created.startswith("ry_worker_")
    assert worker.split()[-1] == "worker" and "RUNYARD_WORKER_TOKEN" in str(
        compose["services"]["worker"]
    )


def extra_worker_block(block: Block, place: Place) -> None:
    [command] = block.commands()
    with place.client() as client:
        secret = client.create_token("gpu-2", kind="worker", worker_name="gpu-2")["token"]
    command = (
        command.replace("<token for gpu-2>", secret)
        .replace("http://<server>:8000", place.url)
        .replace("redis://:<redis password>@<server>:6379/0", place.stack.redis_url)
        .replace("runyard-prod", place.stack.options.prefix)
        .replace("<this machine's address>", "127.0.0.1")
    )
    assert "<" not in command, command
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=place.root,
        env=place.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with place.client() as client:
            wait_for(
                lambda: any(w["name"] == "gpu-2" for w in client.workers()),
                timeout=120,
                what="worker gpu-2 to register",
            )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def trainer_block(block: Block, place: Place) -> None:
    folder = place.root / "trainer-snippet"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=folder,
        env=place.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (folder / "model.pt").is_file() and (folder / "model.onnx").is_file()


def examples_block(block: Block, place: Place) -> None:
    folder = place.root / "examples-locally"
    folder.mkdir()
    for command in block.commands():
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            env=place.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{command}:\n{result.stderr[-2000:]}"
    assert list(folder.glob("lightning_logs/version_*"))


def asha_spec_block(block: Block, place: Place) -> None:
    # The README shows the example spec as it ships; it is valid and expands as it says.
    assert block.text == (REPO / "examples" / "digits_asha.yaml").read_text()
    out = place.sh("runyard submit examples/digits_asha.yaml --dry-run")
    assert "valid: 9 run(s) in project examples" in out, out
    assert "ASHA: rungs of 1, 3, 9 epochs" in out, out


def _python(place: Place, code: str, python: str = sys.executable, **env: str) -> list[str]:
    with place.client() as client:
        client.ensure_project("examples")
    result = subprocess.run(
        [python, "-c", code],
        cwd=place.root,
        env={**place.env, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()


def runyard_init_block(block: Block, place: Place) -> None:
    # No RUNYARD_URL or RUNYARD_TOKEN: runyard.init finds the local stack as the CLI does.
    url = _python(place, block.text, RUNYARD_SPOOL_DIR=str(place.root / "spool"))[-1]
    run_id = url.rsplit("/", 1)[-1]
    with place.client() as client:
        run = client.run(run_id)
        assert run["kind"] == "external" and run["state"] == "completed"
        assert run["params"] == {"lr": 0.01, "net.hidden": 64, "batch_size": 32}
        assert len(client.metric(run_id, "loss")) == 100
    assert not (place.root / "spool" / run_id).exists()  # everything delivered


def trainer_logger_block(block: Block, place: Place) -> None:
    run_id = _python(place, block.text, RUNYARD_SPOOL_DIR=str(place.root / "spool"))[-1]
    with place.client() as client:
        run = client.run(run_id)
        assert run["kind"] == "external" and run["state"] == "completed"
        assert run["params"]["hidden_size"] == 32
        assert {"val_loss", "val_acc"} <= set(client.metric_keys(run_id))


def mlflow_block(block: Block, place: Place) -> None:
    from tests.runyard.mlflow_client import MLFLOW_PYTHON

    if not Path(MLFLOW_PYTHON).exists():
        pytest.skip(
            f"no MLflow client at {MLFLOW_PYTHON} (tests/runyard/mlflow_client/setup_mlflow.sh)"
        )
    code = block.text.replace("http://127.0.0.1:8000", place.url)
    [*_, last] = _python(place, code, MLFLOW_PYTHON, MLFLOW_TRACKING_TOKEN=place.stack.admin_token)
    assert "step=9" in last  # MLflow read its own history back
    with place.client() as client:
        [run] = client.runs(q="mlflow-baseline")
        assert run["state"] == "completed" and run["params"] == {"lr": "0.01", "batch_size": "32"}
        assert len(client.metric(run["id"], "loss")) == 10


HANDLERS: dict[str, Callable[[Block, Place], None]] = {
    "# main job": the_two_commands,
    "python -m venv": install_block,
    "CLI / SDK / curl / browser": diagram,
    "runyard submit examples/digits.yaml --follow": cli_block,
    "from runyard.client import Client": sdk_block,
    "TOKEN=$(cat .runyard/admin-token)": curl_block,
    "scrape_configs:": prometheus_block,
    "export RUNYARD_REDIS_PASSWORD": compose_block,
    "RUNYARD_WORKER_NAME=gpu-2": extra_worker_block,
    "import trainer_core as pl": trainer_block,
    "python -m examples.digits": examples_block,
    "# ASHA on digits": asha_spec_block,
    "import runyard": runyard_init_block,
    "from runyard.trainer_logger import RunyardLogger": trainer_logger_block,
    "import mlflow": mlflow_block,
}


def handler_for(block: Block) -> Callable[[Block, Place], None]:
    matches = [h for prefix, h in HANDLERS.items() if block.text.lstrip().startswith(prefix)]
    assert len(matches) == 1, (
        f"README.md line {block.line} ({block.first_line!r}) has no test; add a handler to "
        "tests/test_readme.py"
    )
    return matches[0]


def test_every_readme_block_has_exactly_one_handler():
    for block in blocks():
        handler_for(block)
    assert len(blocks()) == len(HANDLERS)


@pytest.mark.parametrize("block", blocks(), ids=lambda b: f"line{b.line}")
def test_readme_block_runs(block: Block, place: Place) -> None:
    handler_for(block)(block, place)
