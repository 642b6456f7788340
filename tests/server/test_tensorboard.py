"""A run's TensorBoard event files: its worker uploads them (checked like a code bundle), the
run's readers download them; others get a 404."""

import hashlib
import io
import tarfile
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.server.test_bundles import link, make_bundle


def _upload(client: TestClient, run_id: str, token: str, archive: bytes, auth: Callable):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/worker/runs/{run_id}/tensorboard",
        data={"attempt": "1"},
        files={"file": ("tensorboard.tar.gz", archive, "application/gzip")},
        headers=auth(token) | {"X-Content-SHA256": hashlib.sha256(archive).hexdigest()},
    )


def test_uploaded_event_files_download_for_the_runs_readers(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    make_worker_token: Callable,
    auth: Callable,
) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user()
    run = make_run(make_project(user), user, state="running")
    archive = make_bundle(("attempt-1/events.out.tfevents.1", b"event bytes"))
    response = _upload(client, run.id, make_worker_token(), archive, auth)
    assert response.status_code == 200, response.text
    assert response.json()["size"] == len(archive)
    download = client.get(f"/api/v1/runs/{run.id}/tensorboard", headers=auth(token))
    assert download.status_code == 200 and download.content == archive
    assert f"-{run.id[:8]}-tensorboard.tar.gz" in download.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(download.content)) as tar:
        assert tar.getnames() == ["attempt-1/events.out.tfevents.1"]
    _, outsider = make_user()
    assert (
        client.get(f"/api/v1/runs/{run.id}/tensorboard", headers=auth(outsider)).status_code == 404
    )


def test_a_run_without_event_files_is_a_404_that_says_when_they_come(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user()
    run = make_run(make_project(user), user)
    response = client.get(f"/api/v1/runs/{run.id}/tensorboard", headers=auth(token))
    assert response.status_code == 404
    assert "stores them when the run ends" in response.json()["detail"]


def test_an_unsafe_archive_is_refused_and_not_kept(
    client: TestClient,
    settings,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    make_worker_token: Callable,
    auth: Callable,
) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user()
    run = make_run(make_project(user), user, state="running")
    archive = make_bundle(("events", b"x"), link("escape", "../../../etc/passwd"))
    response = _upload(client, run.id, make_worker_token(), archive, auth)
    assert response.status_code == 422
    folder = settings.artifacts / "runs" / run.id / "tensorboard"
    assert not folder.exists() or not any(folder.iterdir())
    assert client.get(f"/api/v1/runs/{run.id}/tensorboard", headers=auth(token)).status_code == 404


def test_a_user_token_cannot_upload_event_files(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user()
    run = make_run(make_project(user), user, state="running")
    response = _upload(client, run.id, token, make_bundle(("e", b"x")), auth)
    assert response.status_code == 403
