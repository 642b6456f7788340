"""The run page's file browser: a run's artifact folder listed as a tree, files downloaded and
small text and images previewed, only by those who may read the run, and never a path outside
the run's folder."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runyard.schemas.states import RunState
from server.artifacts.browse import PREVIEW_BYTES
from server.runs.models import Run
from server.settings import Settings


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0], state=RunState.running)


@pytest.fixture
def folder(settings: Settings, run: Run) -> Path:
    """The run's folder as uploads leave it, plus an in-flight upload that must not show."""
    root = settings.artifacts / "runs" / run.id
    (root / "checkpoints").mkdir(parents=True)
    (root / "checkpoints" / "a.ckpt").write_bytes(b"\0" * 100)
    (root / "checkpoints" / ".upload-x").write_bytes(b"partial")
    (root / "reports").mkdir()
    (root / "reports" / "metrics.json").write_text(json.dumps({"acc": 0.9}))
    (root / "reports" / "big.csv").write_text("a,b\n" + "1,2\n" * PREVIEW_BYTES)
    return root


def _get(client: TestClient, auth: Callable, token: str, path: str, **params: str):
    return client.get(path, headers=auth(token), params=params)


def test_lists_directories_and_files_with_sizes_times_and_preview_kinds(
    client: TestClient, run: Run, owner: tuple, auth: Callable, folder: Path
) -> None:
    body = _get(client, auth, owner[1], f"/api/v1/runs/{run.id}/artifacts").json()
    entries = {e["path"]: e for e in body["entries"]}
    assert list(entries) == [
        "checkpoints",
        "checkpoints/a.ckpt",
        "reports",
        "reports/big.csv",
        "reports/metrics.json",
    ]
    assert entries["checkpoints"]["kind"] == "dir"
    assert entries["checkpoints/a.ckpt"] | {"modified": None} == {
        "path": "checkpoints/a.ckpt",
        "name": "a.ckpt",
        "kind": "file",
        "size": 100,
        "modified": None,
        "preview": None,
    }
    assert entries["reports/metrics.json"]["preview"] == "text"
    assert entries["reports/big.csv"]["preview"] is None  # too large to preview


def test_a_run_without_artifacts_lists_nothing(
    client: TestClient, run: Run, owner: tuple, auth: Callable
) -> None:
    body = _get(client, auth, owner[1], f"/api/v1/runs/{run.id}/artifacts").json()
    assert body == {"run_id": run.id, "entries": []}


def test_downloads_a_file_and_previews_small_text_inline(
    client: TestClient, run: Run, owner: tuple, auth: Callable, folder: Path
) -> None:
    base = f"/api/v1/runs/{run.id}/artifacts/files"
    download = _get(client, auth, owner[1], f"{base}/checkpoints/a.ckpt")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(b"\0" * 100).digest()
    assert "attachment" in download.headers["content-disposition"]
    shown = _get(client, auth, owner[1], f"{base}/reports/metrics.json", preview="true")
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("application/json")
    assert shown.json() == {"acc": 0.9}
    refused = _get(client, auth, owner[1], f"{base}/reports/big.csv", preview="true")
    assert refused.status_code == 415


@pytest.mark.parametrize(
    "path",
    ["../../users.db", "checkpoints/../../x", "%2e%2e/%2e%2e/secret", "..%2Fsecret", ".upload-x"],
)
def test_a_path_outside_the_runs_folder_is_refused(
    client: TestClient, run: Run, owner: tuple, auth: Callable, folder: Path, path: str
) -> None:
    (folder.parent / "secret").write_text("another run's")
    response = _get(client, auth, owner[1], f"/api/v1/runs/{run.id}/artifacts/files/{path}")
    assert 400 <= response.status_code < 500
    assert "another run's" not in response.text


def test_a_symlink_out_of_the_folder_is_not_followed(
    client: TestClient, run: Run, owner: tuple, auth: Callable, folder: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (folder / "link.txt").symlink_to(outside)
    listed = _get(client, auth, owner[1], f"/api/v1/runs/{run.id}/artifacts").json()
    assert "link.txt" not in [e["path"] for e in listed["entries"]]
    response = _get(client, auth, owner[1], f"/api/v1/runs/{run.id}/artifacts/files/link.txt")
    assert response.status_code == 404


def test_another_teams_run_looks_missing_and_a_token_is_needed(
    client: TestClient, run: Run, make_user: Callable, auth: Callable, folder: Path
) -> None:
    _, stranger = make_user()
    for path in ("artifacts", "artifacts/files/reports/metrics.json"):
        url = f"/api/v1/runs/{run.id}/{path}"
        assert client.get(url, headers=auth(stranger)).status_code == 404
        assert client.get(url).status_code == 401
