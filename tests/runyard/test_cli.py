"""The `runyard` command against the real server: helpful --help, submit, runs, cancel,
token, and clear errors with a non-zero exit."""

import pytest

from runyard.cli import build_parser, main
from runyard.client import Client
from runyard.follow import RunFollower
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port

SPEC_YAML = """
name: cli-test
project: cli
model:
  entrypoint: examples.digits:DigitsClassifier
trainer: {max_epochs: 1}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("cli")) as running:
        yield running


@pytest.fixture
def env(server, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNYARD_URL", server.url)
    monkeypatch.setenv("RUNYARD_TOKEN", server.admin_token)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC_YAML)
    return spec


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("up", "submit", "runs", "logs", "cancel", "token", "down"):
        assert command in out


@pytest.mark.parametrize("command", ["up", "submit", "runs", "logs", "cancel", "token"])
def test_each_command_has_its_own_help(command):
    help_text = build_parser()._subparsers._group_actions[0].choices[command].format_help()
    assert "usage: runyard " + command in help_text


def test_submit_prints_the_experiment_and_its_runs(env, capsys):
    assert main(["submit", str(env)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("experiment ") and "  run " in out


def test_runs_lists_submitted_runs_with_their_state(env, capsys):
    main(["submit", str(env)])
    run_id = capsys.readouterr().out.split("  run ")[1].split()[0]
    assert main(["runs"]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and "queued" in listing


def test_cancel_prints_the_new_state(env, capsys):
    main(["submit", str(env)])
    run_id = capsys.readouterr().out.split("  run ")[1].split()[0]
    assert main(["cancel", run_id]) == 0
    assert capsys.readouterr().out.strip() == f"run {run_id}: canceled"


def test_token_prints_a_new_secret(env, capsys):
    assert main(["token", "laptop"]) == 0
    assert capsys.readouterr().out.startswith("ry_user_")


def test_an_invalid_spec_exits_non_zero_naming_the_field(env, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC_YAML + "resources: {gpus: 2}\n")
    assert main(["submit", str(bad)]) == 1
    assert "resources.gpus" in capsys.readouterr().err


def test_an_unreachable_server_exits_non_zero_with_a_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RUNYARD_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("RUNYARD_TOKEN", "ry_user_x")
    assert main(["runs"]) == 1
    assert "runyard up" in capsys.readouterr().err


def test_following_an_ended_run_prints_its_state_and_returns(server, env):
    with Client(server.url, server.admin_token) as client:
        client.ensure_project("cli")
        [run_id] = client.submit(env)["run_ids"]
        client.cancel(run_id)
        said: list[str] = []
        final = RunFollower(client, run_id, say=said.append).follow(timeout=30)
    assert final["state"] == "canceled"
    states = [line for line in said if line.startswith("== ")]
    assert states[0].startswith("== queued") and states[-1].startswith("== canceled")
    assert said[-1] == f"run {run_id} canceled"
