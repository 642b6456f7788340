"""Code bundles: safe ones are stored by sha256 and served to workers; unsafe ones are refused
and leave nothing behind."""

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.bundles.storage import bundle_path
from server.experiments.models import Experiment
from server.runs.models import Run
from tests.server.conftest import spec_for

URL = "/api/v1/experiments"


def make_bundle(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def link(name: str, target: str, *, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


def submit(client: TestClient, project, headers, bundle: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        URL,
        data={"spec": json.dumps(spec_for(project))},
        files={"bundle": ("code.tar.gz", bundle, "application/gzip")},
        headers=headers,
    )


def stored_files(artifact_dir: Path) -> list[Path]:
    return [p for p in artifact_dir.rglob("*") if p.is_file()] if artifact_dir.exists() else []


def test_safe_bundle_is_stored_by_sha256_and_served_to_the_worker(
    client: TestClient,
    member,
    settings,
    make_worker_token: Callable,
    place: Callable,
    auth: Callable,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    bundle = make_bundle(("pkg/__init__.py", b""), ("pkg/model.py", b"X = 1\n"), link("l", "pkg"))
    response = submit(client, project, headers, bundle)
    assert response.status_code == 201, response.text
    body = response.json()
    sha = hashlib.sha256(bundle).hexdigest()
    assert body["bundle_sha256"] == sha and body["bundle_size"] == len(bundle)
    assert bundle_path(settings.artifacts, sha).read_bytes() == bundle
    place(body["run_ids"][0])
    download = client.get(
        f"/api/v1/worker/runs/{body['run_ids'][0]}/bundle", headers=auth(make_worker_token())
    )
    assert download.status_code == 200
    assert download.content == bundle
    assert download.headers["X-Checksum-Sha256"] == sha


@pytest.mark.parametrize(
    "members",
    [
        [("/etc/passwd", b"x")],
        [("../outside.py", b"x")],
        [("pkg/../../outside.py", b"x")],
        [link("pkg/evil", "../../etc/passwd")],
        [link("pkg/evil", "/etc/passwd")],
        [link("pkg/evil", "../../x", hard=True)],
        [device("pkg/tty")],
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink-out", "symlink-abs", "hardlink", "dev"],
)
def test_unsafe_bundle_is_422_and_leaves_nothing_behind(
    client: TestClient,
    session: Session,
    member,
    settings,
    members,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    response = submit(client, project, headers, make_bundle(*members))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "bundle"]
    assert session.scalar(select(func.count()).select_from(Experiment)) == 0
    assert stored_files(settings.artifacts) == []


def test_not_a_tarball_is_422(client: TestClient, member, settings) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    response = submit(client, project, headers, b"this is not gzip")
    assert response.status_code == 422
    assert stored_files(settings.artifacts) == []


def test_bundle_over_the_size_limit_is_413_and_leaves_nothing_behind(
    client: TestClient,
    member,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.max_bundle_bytes = 1024
    project, headers = member
    big = make_bundle(("blob.bin", bytes(range(256)) * 4000))
    assert len(big) > 1024
    assert submit(client, project, headers, big).status_code == 413
    assert stored_files(settings.artifacts) == []


def test_bundle_that_unpacks_past_the_limit_is_413(
    client: TestClient,
    member,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.max_bundle_unpacked_bytes = 10_000
    project, headers = member
    response = submit(client, project, headers, make_bundle(("zeros.bin", bytes(100_000))))
    assert response.status_code == 413
    assert stored_files(settings.artifacts) == []


def test_a_run_scoped_token_downloads_only_its_own_runs_bundle(
    client: TestClient,
    member,
    session: Session,
    make_run_token: Callable,
    place: Callable,
    auth: Callable,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    bundle = make_bundle(("pkg/__init__.py", b""))
    first = submit(client, project, headers, bundle).json()["run_ids"][0]
    second = submit(client, project, headers, bundle).json()["run_ids"][0]
    place(first)
    place(second)
    token = auth(make_run_token(session.get(Run, first)))
    assert client.get(f"/api/v1/worker/runs/{first}/bundle", headers=token).status_code == 200
    assert client.get(f"/api/v1/worker/runs/{second}/bundle", headers=token).status_code == 403


def test_run_without_a_bundle_is_404_for_the_worker(
    client: TestClient,
    member,
    make_run: Callable,
    make_user: Callable,
    make_worker_token: Callable,
    auth: Callable,  # type: ignore[no-untyped-def]
) -> None:
    project, _ = member
    owner, _ = make_user()
    run = make_run(project, owner, state="running")
    response = client.get(f"/api/v1/worker/runs/{run.id}/bundle", headers=auth(make_worker_token()))
    assert response.status_code == 404


def test_valid_bundle_with_a_failing_spec_expansion_leaves_nothing_behind(
    client: TestClient,
    session: Session,
    member,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    project, headers = member
    spec = spec_for(project, search={"parameters": {"trainer.max_epochs": {"values": [0]}}})
    response = client.post(
        URL,
        data={"spec": json.dumps(spec)},
        files={
            "bundle": ("code.tar.gz", make_bundle(("pkg/__init__.py", b"")), "application/gzip")
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Experiment)) == 0
    assert stored_files(settings.artifacts) == []
