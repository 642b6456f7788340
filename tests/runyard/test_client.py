"""The Python SDK against the real server: submit (with and without a code bundle), read,
cancel, and errors that say what went wrong."""

import io
import tarfile

import pytest

import runyard
from runyard.client import (
    ApiError,
    Client,
    ConnectionFailed,
    SpecError,
    SpecFileNotFound,
    pack_bundle,
)
from tests.e2e.live_server import live_server
from tests.e2e.stack import free_port

SPEC_YAML = """
name: digits
project: vision
model:
  entrypoint: examples.digits:DigitsClassifier
  init_args: {lr: 0.01}
trainer: {max_epochs: 1}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("client")) as running:
        yield running


@pytest.fixture
def client(server):
    with Client(server.url, server.admin_token) as c:
        c.ensure_project("vision")
        yield c


def test_submitting_a_yaml_file_queues_its_run(client, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC_YAML)
    experiment = client.submit(path)
    [run_id] = experiment["run_ids"]
    run = client.run(run_id)
    assert run["state"] == "queued" and run["spec"]["trainer"]["max_epochs"] == 1


def test_a_search_expands_into_several_runs(client):
    spec = SPEC_YAML + "search:\n  parameters:\n    model.init_args.lr: {values: [0.1, 0.01]}\n"
    assert len(client.submit(spec)["run_ids"]) == 2


def test_submitting_with_a_code_bundle_directory_uploads_it(client, tmp_path):
    code = tmp_path / "code"
    (code / "mypkg").mkdir(parents=True)
    (code / "mypkg" / "__init__.py").write_text("")
    (code / "mypkg" / "__pycache__").mkdir()
    (code / "mypkg" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    experiment = client.submit(SPEC_YAML, bundle=code)
    assert experiment["bundle_sha256"]


def test_bundles_leave_out_caches():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pkg" / "__pycache__").mkdir(parents=True)
        (root / "pkg" / "m.py").write_text("x = 1")
        (root / "pkg" / "__pycache__" / "m.pyc").write_bytes(b"")
        with tarfile.open(fileobj=io.BytesIO(pack_bundle(root))) as tar:
            assert tar.getnames() == ["pkg/m.py"]


def test_an_invalid_spec_is_rejected_before_anything_is_sent():
    offline = Client(f"http://127.0.0.1:{free_port()}", "ry_user_x")
    with pytest.raises(SpecError, match="did you mean 'max_epochs'") as refused:
        offline.submit(
            {
                "name": "a",
                "project": "p",
                "model": {"entrypoint": "m:C"},
                "trainer": {"max_epoch": 1},
            }
        )
    [problem] = refused.value.problems
    assert problem.loc == ("trainer", "max_epoch")


def test_a_spec_path_that_does_not_exist_is_named(tmp_path):
    offline = Client(f"http://127.0.0.1:{free_port()}", "ry_user_x")
    with pytest.raises(SpecFileNotFound, match="no such file"):
        offline.submit(tmp_path / "nothing.yaml")
    with pytest.raises(SpecFileNotFound, match="no such file"):
        offline.submit("examples/nothing.yaml")


def test_submitting_to_a_project_that_does_not_exist_is_a_404_not_a_new_project(client):
    with pytest.raises(ApiError) as refused:
        client.submit(SPEC_YAML.replace("project: vision", "project: nowhere"))
    assert refused.value.status == 404
    assert "nowhere" not in {p["name"] for p in client.projects()}


def test_cancel_of_a_queued_run_cancels_it(client):
    [run_id] = client.submit(SPEC_YAML)["run_ids"]
    assert client.cancel(run_id)["state"] == "canceled"
    with pytest.raises(ApiError) as info:
        client.cancel(run_id)
    assert info.value.status == 409 and "nothing to cancel" in str(info.value)


def test_listing_runs_shows_the_submitted_ones(client):
    [run_id] = client.submit(SPEC_YAML)["run_ids"]
    assert run_id in {r["id"] for r in client.runs(limit=200)}


def test_a_bad_token_is_an_api_error_naming_the_problem(server):
    with Client(server.url, "ry_user_notavalidtoken") as c, pytest.raises(ApiError) as info:
        c.me()
    assert info.value.status == 401 and "token" in str(info.value)


def test_an_unreachable_server_says_how_to_start_one():
    with (
        Client(f"http://127.0.0.1:{free_port()}", "t") as c,
        pytest.raises(ConnectionFailed) as info,
    ):
        c.runs()
    assert "runyard up" in str(info.value)


def test_worker_tokens_are_created_for_a_named_worker(client):
    created = client.create_token("gpu box", kind="worker", worker_name="gpu-1")
    assert created["token"].startswith("ry_worker_")


def test_events_reads_a_runs_stream_with_ids_and_json_data_and_resumes_by_id(server, client):
    run = runyard.init(
        project="vision",
        name="streamed",
        url=server.url,
        token=server.admin_token,
        spool_dir=server.settings.data_dir / "spool-events",
    )
    for step in range(5):
        run.log({"loss": 1 / (step + 1)}, step=step)
    assert run.finish() is True

    events = list(client.events(run.id))
    assert events[-1]["event"] == "end"
    steps = [p["step"] for e in events if e["event"] == "metrics" for p in e["data"]["points"]]
    assert steps == list(range(5))
    assert [e["data"]["to_state"] for e in events if e["event"] == "state"][-1] == "completed"
    assert all(e["id"].count(".") == 3 for e in events)  # every message carries its cursor

    # Resuming from the first metrics message's id sends only what came after it.
    first_metrics = next(e for e in events if e["event"] == "metrics")
    rest = list(client.events(run.id, last_event_id=first_metrics["id"]))
    rest_steps = [p["step"] for e in rest if e["event"] == "metrics" for p in e["data"]["points"]]
    assert rest_steps == steps[len(first_metrics["data"]["points"]) :]
    assert rest[-1]["event"] == "end"
