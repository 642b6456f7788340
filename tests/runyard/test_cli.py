"""The `runyard` command against the real server: help, submit, runs, show, cancel, token,
and errors that say what to fix, with a non-zero exit."""

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from runyard.cli import main
from runyard.client import Client
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port

SPEC_YAML = """
name: cli-test
project: cli
model:
  entrypoint: examples.digits:DigitsClassifier
trainer: {max_epochs: 1}
checkpoint: {monitor: val_loss}
"""

COMMANDS = (
    "up",
    "down",
    "submit",
    "runs",
    "show",
    "logs",
    "cancel",
    "queue",
    "download",
    "token",
    "login",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("cli")) as running:
        with Client(running.url, running.admin_token) as client:
            client.ensure_project("cli")
        yield running


@pytest.fixture
def env(server, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNYARD_URL", server.url)
    monkeypatch.setenv("RUNYARD_TOKEN", server.admin_token)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC_YAML)
    return spec


def submitted(capsys, spec, *extra) -> str:
    """Submits `spec`; returns the short run id the CLI printed."""
    assert main(["submit", str(spec), *extra]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.split("  run ")[1].split()[0]


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_its_own_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"Usage: runyard {command}" in capsys.readouterr().out


def test_submit_prints_the_experiment_and_its_runs_by_short_id(env, capsys):
    run = submitted(capsys, env)
    assert len(run) == 8


def test_a_missing_spec_file_says_so_and_suggests_the_near_name(env, capsys, tmp_path):
    (tmp_path / "digits.yaml").write_text(SPEC_YAML)
    assert main(["submit", str(tmp_path / "digit.yaml")]) == 1
    err = capsys.readouterr().err
    assert (
        f"no such file: {tmp_path / 'digit.yaml'}; did you mean {tmp_path / 'digits.yaml'}?" in err
    )


def test_a_misspelt_field_gets_did_you_mean(env, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC_YAML.replace("max_epochs", "max_epoch"))
    assert main(["submit", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad} is not a valid experiment spec" in err
    assert "trainer.max_epoch: unknown field 'max_epoch'; did you mean 'max_epochs'?" in err
    assert "pydantic" not in err and "errors.pydantic.dev" not in err


def test_no_project_is_created_silently(server, env, capsys, tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text(SPEC_YAML.replace("project: cli", "project: clj"))
    assert main(["submit", str(typo)]) == 1
    err = capsys.readouterr().err
    assert "no project 'clj'; did you mean 'cli'?" in err and "--create-project" in err
    with Client(server.url, server.admin_token) as client:
        assert "clj" not in {p["name"] for p in client.projects()}


def test_create_project_creates_the_missing_project(server, env, capsys, tmp_path):
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(SPEC_YAML.replace("project: cli", "project: fresh-project"))
    submitted(capsys, fresh, "--create-project")
    with Client(server.url, server.admin_token) as client:
        assert "fresh-project" in {p["name"] for p in client.projects()}


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {needle!r} within {timeout}s; saw {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed its end
                break
            seen += chunk
    return seen


def test_at_a_terminal_submit_asks_before_creating_a_project(server, env, tmp_path):
    asked = tmp_path / "asked.yaml"
    asked.write_text(SPEC_YAML.replace("project: cli", "project: asked-for"))
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "submit", str(asked)],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=os.environ,
    )
    os.close(terminal)
    try:
        prompt = _read_until(controller, b"[y/N]", timeout=60)
        assert b"project 'asked-for' does not exist; create it?" in prompt
        os.write(controller, b"y\n")
        out, _ = child.communicate(timeout=60)
    finally:
        os.close(controller)
    assert child.returncode == 0
    assert b"  run " in out
    with Client(server.url, server.admin_token) as client:
        assert "asked-for" in {p["name"] for p in client.projects()}


def test_runs_takes_a_project_name_and_shows_project_age_duration_and_monitor(env, capsys):
    run = submitted(capsys, env)
    assert main(["runs", "--project", "cli"]) == 0
    listing = capsys.readouterr().out
    header = listing.splitlines()[0].split()
    assert header == ["RUN", "EXPERIMENT", "PROJECT", "STATE", "AGE", "DURATION", "METRIC"]
    [row] = [line for line in listing.splitlines() if line.startswith(run)]
    assert row.split()[1:4] == ["cli-test", "cli", "queued"]
    assert "ago" in row and "val_loss" in row


def test_runs_of_an_unknown_project_says_which_exist(env, capsys):
    assert main(["runs", "--project", "clii"]) == 1
    assert "no project 'clii'; did you mean 'cli'?" in capsys.readouterr().err


def test_show_takes_a_short_id_and_prints_the_run(env, capsys):
    run = submitted(capsys, env)
    assert main(["show", run]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"run {run}") and "state       queued (attempt 1)" in shown
    assert "project     cli" in shown and "history:" in shown


def test_an_unknown_run_id_names_the_command_that_lists_runs(env, capsys):
    assert main(["logs", "ffff0000"]) == 1
    err = capsys.readouterr().err
    assert "no run 'ffff0000' among your projects; list yours with `runyard runs`" in err
    assert "/api/v1" not in err


def test_something_that_is_not_an_id_is_refused_as_such(env, capsys):
    assert main(["show", "digits-mlp"]) == 1
    assert "'digits-mlp' is not a run id" in capsys.readouterr().err


def test_an_ambiguous_short_id_asks_for_more_characters(env, capsys, tmp_path):
    # 17 trials: by pigeonhole, two run ids share their first hex digit.
    many = tmp_path / "many.yaml"
    values = ", ".join(str(i + 1) for i in range(17))
    many.write_text(
        SPEC_YAML
        + f"search:\n  max_trials: 17\n  parameters:\n    trainer.max_epochs: {{values: [{values}]}}\n"
    )
    assert main(["submit", str(many)]) == 0
    runs = [
        line.split()[1]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  run ")
    ]
    first_digits = [r[0] for r in runs]
    shared = next(d for d in first_digits if first_digits.count(d) > 1)
    assert main(["show", shared]) == 1
    assert f"'{shared}' matches several runs" in capsys.readouterr().err


def test_cancel_of_a_queued_run_says_canceled_and_twice_says_why_not(env, capsys):
    run = submitted(capsys, env)
    assert main(["cancel", run]) == 0
    assert capsys.readouterr().out.strip() == f"run {run}: canceled"
    assert main(["cancel", run]) == 1
    assert "nothing to cancel" in capsys.readouterr().err


def test_token_create_prints_only_the_secret_on_stdout(env, capsys):
    assert main(["token", "create", "laptop", "--expires", "30d"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ry_user_") and len(captured.out.split()) == 1
    assert "(laptop, user, expires " in captured.err and "shown only this once" in captured.err


def test_token_list_shows_labels_status_and_expiry_never_secrets(env, capsys):
    main(["token", "create", "listed", "--expires", "2w"])
    secret = capsys.readouterr().out.strip()
    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    [row] = [line for line in listing.splitlines() if " listed " in line]
    assert "active" in row and "never" not in row
    assert secret not in listing


def test_token_revoke_by_label_makes_the_token_useless(server, env, capsys):
    main(["token", "create", "to-revoke"])
    secret = capsys.readouterr().out.strip()
    assert main(["token", "revoke", "to-revoke"]) == 0
    assert "revoked token" in capsys.readouterr().out
    assert main(["--token", secret, "runs"]) == 1
    assert "this token was revoked" in capsys.readouterr().err


def test_a_bad_expiry_says_what_to_give(env, capsys):
    assert main(["token", "create", "x", "--expires", "30x"]) == 1
    assert "give a lifetime such as 30d, 2w or 1y" in capsys.readouterr().err


def test_a_closed_pipe_ends_the_command_quietly(env):
    # `true` exits at once, so whatever the CLI prints meets a closed pipe.
    result = subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m runyard.cli examples digits | true; echo ${{PIPESTATUS[0]}}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    assert result.stdout.strip() in ("0", "1")


def test_an_unreachable_server_exits_non_zero_with_a_hint(monkeypatch, capsys):
    monkeypatch.setenv("RUNYARD_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("RUNYARD_TOKEN", "ry_user_x")
    assert main(["runs"]) == 1
    assert "runyard up" in capsys.readouterr().err


def test_examples_lists_and_prints_the_packaged_specs(capsys, tmp_path):
    assert main(["examples"]) == 0
    listing = capsys.readouterr().out
    assert "digits" in listing and "gan" in listing
    assert main(["examples", "digits", "-o", str(tmp_path / "d.yaml")]) == 0
    assert "entrypoint: examples.digits:DigitsClassifier" in (tmp_path / "d.yaml").read_text()


def test_a_dry_run_shows_the_trials_and_creates_nothing(server, env, capsys, tmp_path):
    search = tmp_path / "search.yaml"
    search.write_text(
        SPEC_YAML + "search:\n  parameters:\n    model.init_args.lr: {values: [0.1, 0.01]}\n"
    )
    with Client(server.url, server.admin_token) as client:
        before = len(client.runs(limit=200))
        assert main(["submit", str(search), "--dry-run"]) == 0
        assert len(client.runs(limit=200)) == before
    out = capsys.readouterr().out
    assert "valid: 2 run(s) in project cli, 1 node, CPU (1 slot) each" in out
    assert "trial 0: model.init_args.lr=0.1" in out and "trial 1: model.init_args.lr=0.01" in out
    assert "no worker has registered yet" in out and "nothing was created (dry run)" in out


def test_a_dry_run_reports_what_submit_would_refuse(env, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC_YAML.replace("project: cli", "project: nowhere"))
    assert main(["submit", str(bad), "--dry-run"]) == 1
    assert "no project 'nowhere'" in capsys.readouterr().err


def test_an_expired_token_is_listed_as_expired_and_refused(server, env, capsys):
    from sqlalchemy import create_engine, text

    main(["token", "create", "short-lived", "--expires", "1d"])
    secret = capsys.readouterr().out.strip()
    engine = create_engine(server.settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00' WHERE name = :n"),
            {"n": "short-lived"},
        )
    engine.dispose()
    assert main(["token", "list"]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if "short-lived" in line]
    assert "expired" in row and "2000-01-01" in row
    assert main(["--token", secret, "runs"]) == 1
    assert "this token has expired" in capsys.readouterr().err


def test_queue_shows_each_runs_place_what_holds_it_and_its_wait(env, capsys):
    run = submitted(capsys, env)
    assert main(["queue"]) == 0
    listing = capsys.readouterr().out
    assert "WAITS FOR" in listing and run in listing
    assert main(["queue", run]) == 0
    said = capsys.readouterr().out
    assert f"run {run}: #" in said and "of its owner's" in said and "expected wait" in said
