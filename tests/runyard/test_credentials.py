"""One credential lookup for the CLI and the SDK: RUNYARD_TOKEN, then the local stack `runyard
up` recorded (from any working directory), then `runyard login`; a refused or missing token
says where it was looked for."""

import pytest

from runyard.cli import main
from runyard.client import AuthenticationFailed, Client
from runyard.credentials import DEFAULT_URL, resolve
from runyard.user_config import LocalStackRecord, record_local_stack, save_login
from tests.e2e.live_server import live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("credentials")) as running:
        yield running


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("RUNYARD_URL", "RUNYARD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_runyard_token_comes_first(tmp_path):
    record_local_stack(tmp_path, LocalStackRecord("http://127.0.0.1:8000", "ry_user_local", "/d"))
    found = resolve(environ={"RUNYARD_TOKEN": "ry_user_env"}, directory=tmp_path)
    assert (found.token, found.source) == ("ry_user_env", "RUNYARD_TOKEN")


def test_the_local_stack_recorded_by_up_comes_next_and_gives_the_url_too(tmp_path):
    record_local_stack(tmp_path, LocalStackRecord("http://127.0.0.1:8123", "ry_user_local", "/d"))
    save_login(tmp_path, "http://127.0.0.1:8123", "ry_user_login")
    found = resolve(environ={}, directory=tmp_path)
    assert found.url == "http://127.0.0.1:8123" and found.token == "ry_user_local"
    assert "runyard up" in found.source


def test_a_saved_login_is_used_for_its_server(tmp_path):
    save_login(tmp_path, "https://runyard.example.org/", "ry_user_login")
    found = resolve(environ={}, directory=tmp_path)
    assert found.url == "https://runyard.example.org" and found.token == "ry_user_login"


def test_a_token_is_never_sent_to_a_server_it_was_not_recorded_for(tmp_path):
    record_local_stack(tmp_path, LocalStackRecord("http://127.0.0.1:8000", "ry_user_local", "/d"))
    found = resolve(environ={"RUNYARD_URL": "https://elsewhere.example.org"}, directory=tmp_path)
    assert found.token is None
    assert found.tried[0] == "RUNYARD_TOKEN (not set)"
    assert "none recorded by `runyard up`" in found.tried[1]
    assert "runyard login" in found.tried[2]


def test_with_nothing_recorded_the_default_server_is_the_local_one(tmp_path):
    assert resolve(environ={}, directory=tmp_path).url == DEFAULT_URL


def test_the_sdk_finds_the_local_stack_token_from_any_directory(
    server, clean_env, tmp_path, monkeypatch, _private_user_config
):
    record_local_stack(
        _private_user_config, LocalStackRecord(server.url, server.admin_token, str(tmp_path))
    )
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    with Client() as client:
        assert client.url == server.url
        assert client.me()["is_admin"]


def test_a_missing_token_is_a_401_that_lists_every_place_looked(
    server, clean_env, _private_user_config
):
    with Client(server.url) as client, pytest.raises(AuthenticationFailed) as refused:
        client.me()
    message = str(refused.value)
    assert message.startswith(f"no API token for {server.url}; looked in: 1) RUNYARD_TOKEN")
    assert str(_private_user_config / "stacks") in message and "runyard login" in message


def test_a_refused_token_names_where_it_came_from(server, clean_env, monkeypatch):
    monkeypatch.setenv("RUNYARD_TOKEN", "ry_user_" + "x" * 43)
    with Client(server.url) as client, pytest.raises(AuthenticationFailed) as refused:
        client.me()
    assert refused.value.status == 401
    assert f"{server.url} refused the token from RUNYARD_TOKEN: unknown token" in str(refused.value)


def test_login_saves_a_token_that_later_commands_use(server, clean_env, capsys):
    assert main(["login", "--url", server.url, "--token", server.admin_token]) == 0
    assert "signed in to" in capsys.readouterr().out
    # No --url, no RUNYARD_*: the login's server and token.
    assert main(["projects"]) == 0, capsys.readouterr().err
    assert main(["logout"]) == 0
    assert main(["--url", server.url, "projects"]) == 1
    assert "no API token" in capsys.readouterr().err


def test_a_bad_login_token_is_refused_and_not_saved(
    server, clean_env, capsys, _private_user_config
):
    assert main(["--url", server.url, "login", "--token", "ry_user_" + "y" * 43]) == 1
    assert "refused the token" in capsys.readouterr().err
    assert not (_private_user_config / "credentials.json").exists()
