"""Admission and validation at submit time: a run no registered worker could ever hold is a
422 saying what the cluster has; POST /experiments/validate checks everything submit checks
and creates nothing; entrypoints in a bundle are looked for without importing user code."""

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runyard.schemas import Resources
from server.experiments.admission import WorkerCapacity, admission_problem
from server.experiments.models import Experiment
from server.runs.models import Run
from server.workers.models import Worker
from tests.server.conftest import spec_for
from tests.server.test_bundles import make_bundle

URL = "/api/v1/experiments"
VALIDATE = "/api/v1/experiments/validate"


@pytest.fixture
def member(make_user: Callable, make_project: Callable, auth: Callable):  # type: ignore[no-untyped-def]
    user, token = make_user()
    return make_project(user), auth(token)


@pytest.fixture
def cluster(session: Session) -> Callable[..., None]:
    def register(**slots: int) -> None:
        for name, count in slots.items():
            session.add(Worker(name=name, queue=f"worker.{name}", slots_total=count))
        session.commit()

    return register


def counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Experiment)) or 0,
        session.scalar(select(func.count()).select_from(Run)) or 0,
    )


def test_more_gpus_than_any_worker_has_is_422_saying_what_the_cluster_has(
    client: TestClient, member, cluster, session: Session
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    cluster(local=1)
    spec = spec_for(project, resources={"gpus_per_node": 8})
    response = client.post(URL, json=spec, headers=headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "resources", "gpus_per_node"]
    assert error["msg"].startswith(
        "asks for 8 GPUs per node, but no registered worker has more than 1 slot "
        "(the cluster has 1 worker: local 1 slot)"
    )
    assert counts(session) == (0, 0)


def test_more_nodes_than_workers_that_fit_is_422(client: TestClient, member, cluster) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    cluster(a=2, b=2, c=1)
    spec = spec_for(project, resources={"gpus_per_node": 2, "nodes": 3})
    response = client.post(URL, json=spec, headers=headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "resources", "nodes"]
    assert "only 2 registered workers can hold a node of it" in error["msg"]
    assert "a 2 slots, b 2 slots, c 1 slot" in error["msg"]


def test_a_run_that_fits_a_registered_worker_is_queued_even_if_that_worker_is_down(
    client: TestClient, member, cluster, session: Session
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    cluster(small=1, big=4)
    session.execute(Worker.__table__.update().where(Worker.name == "big").values(state="dead"))
    session.commit()
    response = client.post(
        URL, json=spec_for(project, resources={"gpus_per_node": 4}), headers=headers
    )
    assert response.status_code == 201, response.text


def test_with_no_worker_registered_yet_runs_are_accepted_and_validation_says_so(
    client: TestClient, member
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, resources={"gpus_per_node": 8})
    plan = client.post(VALIDATE, json=spec, headers=headers)
    assert plan.status_code == 200, plan.text
    assert "no worker has registered yet" in " ".join(plan.json()["notes"])
    assert client.post(URL, json=spec, headers=headers).status_code == 201


def test_validate_expands_the_search_and_creates_nothing(
    client: TestClient, member, cluster, session: Session
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    cluster(local=1)
    search = {"parameters": {"model.init_args.lr": {"values": [0.1, 0.01, 0.001]}}}
    response = client.post(VALIDATE, json=spec_for(project, search=search), headers=headers)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["project"] == project.name
    assert [t["params"] for t in plan["trials"]] == [
        {"model.init_args.lr": 0.1},
        {"model.init_args.lr": 0.01},
        {"model.init_args.lr": 0.001},
    ]
    assert plan["resources_summary"] == "1 node, CPU (1 slot)"
    assert any("imported on the worker" in note for note in plan["notes"])
    assert counts(session) == (0, 0)


def test_validate_refuses_what_submit_refuses(client: TestClient, member, cluster) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    cluster(local=1)
    for bad in (
        spec_for(project, trainer={"max_epoch": 3}),
        spec_for(project, resources={"gpus_per_node": 2}),
    ):
        validated = client.post(VALIDATE, json=bad, headers=headers)
        submitted = client.post(URL, json=bad, headers=headers)
        assert validated.status_code == submitted.status_code == 422
        assert validated.json() == submitted.json()
    missing = client.post(VALIDATE, json=spec_for(project) | {"project": "nope"}, headers=headers)
    assert missing.status_code == 404


def _submit_bundle(client: TestClient, url: str, spec: dict, headers: dict, bundle: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        data={"spec": json.dumps(spec)},
        files={"bundle": ("code.tar.gz", bundle, "application/gzip")},
        headers=headers,
    )


def test_a_bundle_without_the_entrypoints_module_is_422(client: TestClient, member) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, model={"entrypoint": "mypkg.models:Net"})
    bundle = make_bundle(("mypkg/__init__.py", b""), ("mypkg/model.py", b"class Net: ...\n"))
    for url in (VALIDATE, URL):
        response = _submit_bundle(client, url, spec, headers, bundle)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "model", "entrypoint"]
        assert "the bundle has 'mypkg' but no mypkg/models.py" in error["msg"]


def test_a_bundle_whose_module_lacks_the_class_is_422_without_running_it(
    client: TestClient, member, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    marker = tmp_path / "ran"
    # If the server executed the module, the marker file would appear.
    source = f"open({str(marker)!r}, 'w').close()\nclass Network: ...\n".encode()
    spec = spec_for(project, model={"entrypoint": "mypkg.model:Net"})
    bundle = make_bundle(("mypkg/__init__.py", b""), ("mypkg/model.py", source))
    response = _submit_bundle(client, VALIDATE, spec, headers, bundle)
    assert response.status_code == 422
    assert "mypkg/model.py in the bundle defines no 'Net'" in response.json()["detail"][0]["msg"]
    assert not marker.exists()


def test_a_bundle_with_the_class_validates_and_leaves_no_spooled_file(
    client: TestClient, member, settings
) -> None:  # type: ignore[no-untyped-def]
    project, headers = member
    spec = spec_for(project, model={"entrypoint": "mypkg.model:Net"})
    bundle = make_bundle(
        ("mypkg/__init__.py", b""),
        ("mypkg/model.py", b"import torch\nfrom mypkg.base import Base as Net\n"),
    )
    response = _submit_bundle(client, VALIDATE, spec, headers, bundle)
    assert response.status_code == 200, response.text
    spooled = settings.artifacts / "tmp"
    assert not spooled.exists() or not any(spooled.iterdir())
    assert not (settings.artifacts / "bundles").exists()


@given(
    gpus=st.integers(0, 8),
    nodes=st.integers(1, 4),
    slots=st.lists(st.integers(1, 8), min_size=1, max_size=6),
)
def test_admission_refuses_exactly_what_no_set_of_workers_can_hold(
    gpus: int, nodes: int, slots: list[int]
) -> None:
    workers = [WorkerCapacity(f"w{i}", s) for i, s in enumerate(slots)]
    problem = admission_problem(Resources(gpus_per_node=gpus, nodes=nodes), workers)
    fits = sum(1 for s in slots if s >= max(gpus, 1)) >= nodes
    assert (problem is None) == fits
