"""Checkpoint and export upload (streamed, size-limited, sha256-verified), retention, listing
and download, against a real artifact directory and both SQL backends."""

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from server.app import create_app
from server.projects.models import Project
from server.runs.models import Run
from server.settings import Settings


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable, session: Session) -> Run:
    run = make_run(make_project(owner[0]), owner[0], state=RunState.running)
    run.spec = {
        **run.spec,
        "checkpoint": {"monitor": "val_loss", "mode": "min", "save_top_k": 2, "save_last": True},
    }
    session.commit()
    return run


@pytest.fixture
def worker(make_worker_token: Callable) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_worker_token()}"}


def _upload_checkpoint(
    client: TestClient,
    headers: dict[str, str],
    run_id: str,
    content: bytes,
    val_loss: float = 0.5,
    step: int = 10,
    sha: str | None = None,
):
    return client.post(
        f"/api/v1/worker/runs/{run_id}/checkpoints",
        headers={**headers, "X-Content-SHA256": sha or hashlib.sha256(content).hexdigest()},
        data={
            "attempt": "1",
            "epoch": "0",
            "step": str(step),
            "metrics": f'{{"val_loss": {val_loss}}}',
        },
        files={"file": ("x.ckpt", content, "application/octet-stream")},
    )


def _files(settings: Settings) -> list[Path]:
    return [p for p in settings.artifacts.rglob("*") if p.is_file()]


def test_uploaded_checkpoint_downloads_with_length_and_sha256(
    client: TestClient, run: Run, worker: dict, owner: tuple, auth: Callable
) -> None:
    content = b"weights" * 1000
    record = _upload_checkpoint(client, worker, run.id, content).json()
    listed = client.get(f"/api/v1/runs/{run.id}/checkpoints", headers=auth(owner[1])).json()
    assert [c["id"] for c in listed] == [record["id"]]
    response = client.get(f"/api/v1/checkpoints/{record['id']}/download", headers=auth(owner[1]))
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest()


def test_sha256_mismatch_is_422_and_keeps_nothing(
    client: TestClient, run: Run, worker: dict, settings: Settings, owner: tuple, auth: Callable
) -> None:
    response = _upload_checkpoint(client, worker, run.id, b"abc", sha="0" * 64)
    assert response.status_code == 422
    assert _files(settings) == []
    assert client.get(f"/api/v1/runs/{run.id}/checkpoints", headers=auth(owner[1])).json() == []


def test_upload_over_the_size_limit_is_413_and_keeps_nothing(
    settings: Settings, run: Run, worker: dict
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 10_000})
    with TestClient(create_app(small)) as client:
        response = _upload_checkpoint(client, worker, run.id, b"x" * 20_000)
    assert response.status_code == 413
    assert _files(settings) == []


def test_retention_keeps_top_k_by_monitor_plus_last_and_deletes_the_rest(
    client: TestClient, run: Run, worker: dict, settings: Settings, owner: tuple, auth: Callable
) -> None:
    ids = {}
    for step, loss in enumerate([0.5, 0.3, 0.4, 0.6]):
        ids[loss] = _upload_checkpoint(
            client, worker, run.id, f"ck{loss}".encode(), loss, step
        ).json()["id"]
    listed = client.get(f"/api/v1/runs/{run.id}/checkpoints", headers=auth(owner[1])).json()
    flags = {c["id"]: (c["is_best"], c["is_last"]) for c in listed}
    assert flags == {ids[0.3]: (True, False), ids[0.4]: (False, False), ids[0.6]: (False, True)}
    assert len(_files(settings)) == 3
    gone = client.get(f"/api/v1/checkpoints/{ids[0.5]}/download", headers=auth(owner[1]))
    assert gone.status_code == 404


def test_only_worker_and_own_run_tokens_may_upload(
    client: TestClient,
    run: Run,
    owner: tuple,
    auth: Callable,
    make_run: Callable,
    make_run_token: Callable,
    session: Session,
) -> None:
    project = session.get(Project, run.project_id)
    other_run = make_run(project, owner[0], state=RunState.running)
    assert _upload_checkpoint(client, auth(owner[1]), run.id, b"a").status_code == 403
    assert (
        _upload_checkpoint(client, auth(make_run_token(other_run)), run.id, b"a").status_code == 403
    )
    assert _upload_checkpoint(client, auth(make_run_token(run)), run.id, b"a").status_code == 200


def test_another_team_cannot_see_or_download_checkpoints(
    client: TestClient, run: Run, worker: dict, make_user: Callable, auth: Callable
) -> None:
    record = _upload_checkpoint(client, worker, run.id, b"secret").json()
    _, stranger = make_user()
    assert (
        client.get(f"/api/v1/runs/{run.id}/checkpoints", headers=auth(stranger)).status_code == 404
    )
    response = client.get(f"/api/v1/checkpoints/{record['id']}/download", headers=auth(stranger))
    assert response.status_code == 404


def test_a_worker_downloads_a_checkpoint_to_resume(
    client: TestClient, run: Run, worker: dict
) -> None:
    record = _upload_checkpoint(client, worker, run.id, b"resume me").json()
    response = client.get(f"/api/v1/checkpoints/{record['id']}/download", headers=worker)
    assert response.content == b"resume me"


def test_upload_for_unknown_run_is_404(client: TestClient, worker: dict) -> None:
    assert _upload_checkpoint(client, worker, "no-such-run", b"a").status_code == 404


def test_exports_upload_list_and_download(
    client: TestClient, run: Run, worker: dict, owner: tuple, auth: Callable
) -> None:
    content = b"onnx-bytes"
    response = client.post(
        f"/api/v1/worker/runs/{run.id}/exports",
        headers={**worker, "X-Content-SHA256": hashlib.sha256(content).hexdigest()},
        data={"format": "onnx", "input_signature": '{"shape": [1, 64]}', "max_abs_diff": "1e-6"},
        files={"file": ("model.onnx", content, "application/octet-stream")},
    )
    assert response.status_code == 200
    record = response.json()
    assert (record["format"], record["verified"], record["input_signature"]) == (
        "onnx",
        True,
        {"shape": [1, 64]},
    )
    listed = client.get(f"/api/v1/runs/{run.id}/exports", headers=auth(owner[1])).json()
    assert [e["id"] for e in listed] == [record["id"]]
    download = client.get(f"/api/v1/exports/{record['id']}/download", headers=auth(owner[1]))
    assert download.content == content


def test_export_in_an_unknown_format_is_422(client: TestClient, run: Run, worker: dict) -> None:
    response = client.post(
        f"/api/v1/worker/runs/{run.id}/exports",
        headers=worker,
        data={"format": "pickle"},
        files={"file": ("m", b"x", "application/octet-stream")},
    )
    assert response.status_code == 422


def test_malformed_metrics_field_is_422(client: TestClient, run: Run, worker: dict) -> None:
    response = client.post(
        f"/api/v1/worker/runs/{run.id}/checkpoints",
        headers=worker,
        data={"attempt": "1", "epoch": "0", "step": "1", "metrics": "{not json"},
        files={"file": ("x", b"x", "application/octet-stream")},
    )
    assert response.status_code == 422
