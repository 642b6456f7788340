"""Authorization matrix: every route of the app, for anonymous, viewer, member, project admin,
other-team user, worker token, and a run-scoped token that belongs to another run.

Routes come from `app.routes`, so a new route without a row in EXPECTED fails this test with a
list of what to add. "ok" means the caller got past authorization (any status but 401, 403 and
5xx; and not 404 unless the row says the resource may legitimately be absent).
"""

import io
import re
import secrets
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Mount

from runyard.schemas.tracking import ExternalRunCreate
from server.attempts.service import current_attempt
from server.projects.models import Project
from server.tracking.service import create_external_run
from server.users.models import User
from server.users.tokens import issue_token
from tests.server.conftest import spec_for

ROLES = (
    "anonymous",
    "viewer",
    "member",
    "project_admin",
    "other_team",
    "worker",
    "foreign_run_token",
)
OK = "ok"
Expected = int | tuple[int, ...] | str

PUBLIC: dict[str, Expected] = dict.fromkeys(ROLES, OK)
_NO_TOKENS = {"anonymous": 401, "worker": 403, "foreign_run_token": 403}
ANY_USER: dict[str, Expected] = {**dict.fromkeys(ROLES, OK), **_NO_TOKENS}
GLOBAL_ADMIN: dict[str, Expected] = {**dict.fromkeys(ROLES, 403), "anonymous": 401}
PROJECT_READ: dict[str, Expected] = {
    **_NO_TOKENS,
    "viewer": OK,
    "member": OK,
    "project_admin": OK,
    "other_team": 404,
}
PROJECT_WRITE = {**PROJECT_READ, "viewer": 403}
PROJECT_ADMIN = {**PROJECT_WRITE, "member": 403}
OWN_TOKEN = {**dict.fromkeys(ROLES, 404), **_NO_TOKENS, "member": OK}
WORKER: dict[str, Expected] = {**dict.fromkeys(ROLES, 403), "anonymous": 401, "worker": OK}
# Prometheus scrapes with a user or worker token; user code (run tokens) may not.
ANY_TOKEN: dict[str, Expected] = {
    **dict.fromkeys(ROLES, OK),
    "anonymous": 401,
    "foreign_run_token": 403,
}
# Files of a run: its team reads them, the worker holding the run's attempt reads them (to
# resume it), another run's token sees nothing.
RUN_FILES: dict[str, Expected] = {**PROJECT_READ, "worker": OK, "foreign_run_token": (403, 404)}


@dataclass
class World:
    """One team (project admin, member, viewer), an outsider with their own project, a worker
    token, and fresh resources on demand so that a mutating call never affects the next one."""

    session: Session
    make_user: Callable[..., tuple[User, str]]
    make_run: Callable[..., Any]
    add_member: Callable[..., Any]
    project: Project
    member: User
    client: TestClient
    worker_headers: dict[str, str]

    def run(self) -> str:
        return str(self.make_run(self.project, self.member).id)

    def running_run(self) -> str:
        """A run whose current attempt is placed on the worker (worker-1)."""
        return str(self.make_run(self.project, self.member, state="running").id)

    def attempt_fence(self) -> str:
        run = self.make_run(self.project, self.member, state="scheduled")
        attempt = current_attempt(self.session, run)
        assert attempt is not None
        return str(attempt.fence)

    def experiment(self) -> str:
        return str(self.make_run(self.project, self.member).experiment_id)

    def new_member(self) -> str:
        user, _ = self.make_user()
        self.add_member(self.project, user, "member")
        return user.id

    def checkpoint(self) -> str:
        return self._upload("checkpoints", {"attempt": "1", "epoch": "0", "step": "1"})

    def export(self) -> str:
        return self._upload("exports", {"format": "onnx"})

    def _upload(self, kind: str, form: dict[str, str]) -> str:
        response = self.client.post(
            f"/api/v1/worker/runs/{self.running_run()}/{kind}",
            data=form,
            files={"file": ("model.bin", b"weights")},
            headers=self.worker_headers,
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    def external_run(self) -> str:
        """A run the member logs from outside the cluster (runyard.init, MLflow)."""
        data = ExternalRunCreate(project=self.project.name, name="laptop")
        return create_external_run(self.session, self.member, data).id

    def member_token(self) -> str:
        token, _ = issue_token(self.session, kind="user", name="extra", user_id=self.member.id)
        self.session.commit()
        return token.id


Build = Callable[[World], tuple[list[str], dict[str, Any]]]


def _no_body(*params: Callable[[World], str]) -> Build:
    return lambda w: ([p(w) for p in params], {})


def _json(body: Callable[[World], Any], *params: Callable[[World], str]) -> Build:
    return lambda w: ([p(w) for p in params], {"json": body(w)})


def _project(w: World) -> str:
    return w.project.id


def _run(w: World) -> str:
    return w.run()


CHECKPOINT_FORM = {"attempt": "1", "epoch": "0", "step": "1"}


def _external(w: World) -> str:
    return w.external_run()


def _query(query: Callable[[World], dict[str, str]]) -> Build:
    return lambda w: ([], {"params": query(w)})


def _mlflow(body: Callable[[World, str], dict[str, Any]]) -> Build:
    """An MLflow call on a fresh external run of the member's."""
    return lambda w: ([], {"json": body(w, w.external_run())})


def _running_run(w: World) -> str:
    return w.running_run()


def _event_files() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("attempt-1/events.out.tfevents.1")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"event"))
    return buffer.getvalue()


def _tensorboard_upload(w: World) -> tuple[list[str], dict[str, Any]]:
    return [w.running_run()], {
        "data": {"attempt": "1"},
        "files": {"file": ("tensorboard.tar.gz", _event_files())},
    }


def _upload(form: dict[str, str]) -> Build:
    return lambda w: (
        [w.running_run()],
        {"data": form, "files": {"file": ("model.bin", b"weights")}},
    )


@dataclass(frozen=True)
class Row:
    expected: dict[str, Expected]
    build: Build
    may_404: bool = False  # the addressed resource may not exist even for allowed callers
    streams: bool = False  # an endless response (SSE): only refusals are exercised


# Keys: (method, path with every {param} written as {}).
EXPECTED: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(PUBLIC, _no_body()),
    ("GET", "/"): Row(PUBLIC, _no_body()),
    ("GET", "/openapi.json"): Row(PUBLIC, _no_body()),
    ("GET", "/docs"): Row(PUBLIC, _no_body()),
    ("GET", "/docs/oauth2-redirect"): Row(PUBLIC, _no_body()),
    ("GET", "/redoc"): Row(PUBLIC, _no_body()),
    # users and tokens
    ("POST", "/api/v1/users"): Row(
        GLOBAL_ADMIN, _json(lambda w: {"email": f"{secrets.token_hex(4)}@x.test", "name": "n"})
    ),
    ("GET", "/api/v1/users"): Row(GLOBAL_ADMIN, _no_body()),
    ("GET", "/api/v1/users/me"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/tokens"): Row(ANY_USER, _no_body()),
    ("POST", "/api/v1/tokens"): Row(ANY_USER, _json(lambda w: {"name": "t"})),
    ("DELETE", "/api/v1/tokens/{}"): Row(OWN_TOKEN, _no_body(World.member_token)),
    # projects
    ("POST", "/api/v1/projects"): Row(
        ANY_USER, _json(lambda w: {"name": f"p-{secrets.token_hex(4)}"})
    ),
    ("GET", "/api/v1/projects"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/projects/{}"): Row(PROJECT_READ, _no_body(_project)),
    ("GET", "/api/v1/projects/{}/members"): Row(PROJECT_READ, _no_body(_project)),
    ("POST", "/api/v1/projects/{}/members"): Row(
        PROJECT_ADMIN, _json(lambda w: {"user_id": w.new_member(), "role": "viewer"}, _project)
    ),
    ("DELETE", "/api/v1/projects/{}/members/{}"): Row(
        PROJECT_ADMIN, _no_body(_project, World.new_member)
    ),
    # experiments and runs
    ("POST", "/api/v1/experiments"): Row(PROJECT_WRITE, _json(lambda w: spec_for(w.project))),
    ("POST", "/api/v1/experiments/validate"): Row(
        PROJECT_WRITE, _json(lambda w: spec_for(w.project))
    ),
    ("GET", "/api/v1/experiments"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/experiments/{}"): Row(PROJECT_READ, _no_body(World.experiment)),
    ("GET", "/api/v1/runs"): Row(ANY_USER, _no_body()),
    # Any user; runs outside their projects come back as `missing`, never as rows.
    ("POST", "/api/v1/runs/compare"): Row(ANY_USER, _json(lambda w: {"run_ids": [_run(w)]})),
    ("GET", "/api/v1/runs/{}"): Row(PROJECT_READ, _no_body(_run)),
    # The run belongs to the member, so the member cancels as its owner.
    ("POST", "/api/v1/runs/{}/cancel"): Row(PROJECT_WRITE, _no_body(_run)),
    # Tags and notes: any member of the run's project, not only its owner.
    ("PATCH", "/api/v1/runs/{}"): Row(PROJECT_WRITE, _json(lambda w: {"notes": "n"}, _run)),
    # telemetry (server-data slice)
    ("GET", "/api/v1/runs/{}/metrics"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/metrics/{}"): Row(
        PROJECT_READ, _no_body(_run, lambda w: "loss"), may_404=True
    ),
    ("GET", "/api/v1/runs/{}/metric-series"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/summary"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/logs"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/events"): Row(PROJECT_READ, _no_body(_run), streams=True),
    ("GET", "/api/v1/runs/{}/checkpoints"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/exports"): Row(PROJECT_READ, _no_body(_run)),
    # The run's file browser: a fresh run has no files, so allowed callers may get the 404.
    ("GET", "/api/v1/runs/{}/artifacts"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/artifacts/files/{}"): Row(
        PROJECT_READ, _no_body(_run, lambda w: "notes.txt"), may_404=True
    ),
    ("GET", "/api/v1/checkpoints/{}/download"): Row(RUN_FILES, _no_body(World.checkpoint)),
    ("GET", "/api/v1/exports/{}/download"): Row(RUN_FILES, _no_body(World.export)),
    # No event files are stored for a fresh run: allowed callers get the 404 that says so.
    ("GET", "/api/v1/runs/{}/tensorboard"): Row(PROJECT_READ, _no_body(_run), may_404=True),
    ("GET", "/api/v1/workers"): Row(ANY_USER, _no_body()),
    ("GET", "/metrics"): Row(ANY_TOKEN, _no_body()),
    # scheduler slice
    ("GET", "/api/v1/cluster"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/runs/{}/queue"): Row(PROJECT_READ, _no_body(_run)),
    # runs logged from outside the cluster: the owner (the member) or a project admin writes
    ("POST", "/api/v1/external-runs"): Row(
        PROJECT_WRITE, _json(lambda w: {"project": w.project.name, "name": "laptop"})
    ),
    ("GET", "/api/v1/external-runs/{}"): Row(PROJECT_READ, _no_body(_external)),
    ("POST", "/api/v1/external-runs/{}/batches"): Row(
        PROJECT_WRITE,
        _json(
            lambda w: {
                "seq": 0,
                "points": [{"key": "a", "step": 0, "value": 1.0, "wall_time": 1.0}],
            },
            _external,
        ),
    ),
    ("POST", "/api/v1/external-runs/{}/heartbeat"): Row(PROJECT_WRITE, _no_body(_external)),
    ("POST", "/api/v1/external-runs/{}/finish"): Row(
        PROJECT_WRITE, _json(lambda w: {"state": "completed"}, _external)
    ),
    # MLflow's tracking API: experiments are projects, runs are external runs
    ("GET", "/api/2.0/mlflow/experiments/get-by-name"): Row(
        PROJECT_READ, _query(lambda w: {"experiment_name": w.project.name})
    ),
    ("GET", "/api/2.0/mlflow/experiments/get"): Row(
        PROJECT_READ, _query(lambda w: {"experiment_id": w.project.id})
    ),
    ("POST", "/api/2.0/mlflow/experiments/create"): Row(
        ANY_USER, _json(lambda w: {"name": f"e-{secrets.token_hex(4)}"})
    ),
    ("POST", "/api/2.0/mlflow/runs/create"): Row(
        PROJECT_WRITE, _json(lambda w: {"experiment_id": w.project.id, "run_name": "r"})
    ),
    ("GET", "/api/2.0/mlflow/runs/get"): Row(
        PROJECT_READ, _query(lambda w: {"run_id": w.external_run()})
    ),
    ("GET", "/api/2.0/mlflow/metrics/get-history"): Row(
        PROJECT_READ, _query(lambda w: {"run_id": w.external_run(), "metric_key": "loss"})
    ),
    ("POST", "/api/2.0/mlflow/runs/log-metric"): Row(
        PROJECT_WRITE,
        _mlflow(lambda w, r: {"run_id": r, "key": "a", "value": 1.0, "timestamp": 1, "step": 0}),
    ),
    ("POST", "/api/2.0/mlflow/runs/log-parameter"): Row(
        PROJECT_WRITE, _mlflow(lambda w, r: {"run_id": r, "key": "lr", "value": "0.1"})
    ),
    ("POST", "/api/2.0/mlflow/runs/log-batch"): Row(
        PROJECT_WRITE,
        _mlflow(lambda w, r: {"run_id": r, "metrics": [{"key": "a", "value": 1.0, "step": 0}]}),
    ),
    ("POST", "/api/2.0/mlflow/runs/set-tag"): Row(
        PROJECT_WRITE, _mlflow(lambda w, r: {"run_id": r, "key": "t", "value": "v"})
    ),
    ("POST", "/api/2.0/mlflow/runs/update"): Row(
        PROJECT_WRITE, _mlflow(lambda w, r: {"run_id": r, "status": "FINISHED"})
    ),
    # worker-facing; valid bodies, so that a refusal cannot hide behind a 422
    ("GET", "/api/v1/worker/runs/{}/bundle"): Row(WORKER, _no_body(_running_run), may_404=True),
    ("POST", "/api/v1/worker/attempts/{}/accept"): Row(
        WORKER, _json(lambda w: {"incarnation": "i-1"}, World.attempt_fence)
    ),
    ("POST", "/api/v1/worker/runs/{}/checkpoints"): Row(WORKER, _upload(CHECKPOINT_FORM)),
    ("POST", "/api/v1/worker/runs/{}/exports"): Row(WORKER, _upload({"format": "onnx"})),
    ("POST", "/api/v1/worker/runs/{}/tensorboard"): Row(WORKER, _tensorboard_upload),
    ("POST", "/api/v1/worker/heartbeat"): Row(
        WORKER,
        _json(
            lambda w: {
                "name": "worker-1",
                "queue": "worker-1",
                "slots_total": 1,
                "incarnation": "i-1",
            }
        ),
    ),
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def app_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers (FastAPI keeps
    those nested under `app.routes`)."""
    operations = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            continue  # the static dashboard build: public files
        for method in sorted(getattr(context, "methods", None) or ()):
            if method != "HEAD":
                operations.append((method, context.path))
    return operations


def _fill(path: str, params: list[str]) -> str:
    values = iter(params)
    return re.sub(r"\{[^}]+\}", lambda _m: next(values), path)


def _verdict(row: Row, role: str, status: int) -> str | None:
    expected = row.expected[role]
    if status >= 500:
        return f"server error {status}"
    if expected == OK:
        refused = {401, 403} | (set() if row.may_404 else {404})
        return f"expected access, got {status}" if status in refused else None
    allowed = expected if isinstance(expected, tuple) else (expected,)
    return None if status in allowed else f"expected {expected}, got {status}"


@pytest.mark.slow
def test_every_route_enforces_the_authorization_matrix(
    app: FastAPI,
    client: TestClient,
    session: Session,
    make_user: Callable,
    make_project: Callable,
    add_member: Callable,
    make_run: Callable,
    make_worker_token: Callable,
    make_run_token: Callable,
    auth: Callable,
) -> None:
    operations = app_operations(app)
    missing = sorted({(m, p) for m, p in operations if (m, _shape(p)) not in EXPECTED})
    assert not missing, (
        "routes without a row in tests/server/test_authz_matrix.py EXPECTED; add one for each:\n"
        + "\n".join(f"  {m} {p}" for m, p in missing)
    )

    project_admin, admin_token = make_user()
    project = make_project(project_admin)
    member, member_token = make_user()
    add_member(project, member, "member")
    viewer, viewer_token = make_user()
    add_member(project, viewer, "viewer")
    outsider, outsider_token = make_user()
    make_project(outsider)
    worker_token = make_worker_token("worker-1")
    world = World(
        session, make_user, make_run, add_member, project, member, client, auth(worker_token)
    )
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "viewer": viewer_token,
        "member": member_token,
        "project_admin": admin_token,
        "other_team": outsider_token,
        "worker": worker_token,
        "foreign_run_token": make_run_token(make_run(project, member, state="running")),
    }

    failures = []
    for method, path in operations:
        row = EXPECTED[(method, _shape(path))]
        for role in ROLES:
            if row.streams and row.expected[role] == OK:
                continue
            params, kwargs = row.build(world)
            headers = auth(tokens[role]) if tokens[role] else {}
            response = client.request(method, _fill(path, params), headers=headers, **kwargs)
            problem = _verdict(row, role, response.status_code)
            if problem:
                failures.append(f"{method} {path} as {role}: {problem} ({response.text[:120]})")
    assert not failures, "\n".join(failures)
