"""Authorization matrix: every route of the app, for anonymous, viewer, member, project admin,
other-team user and worker token.

Routes come from `app.routes`, so a new route without a row in EXPECTED fails this test with a
list of what to add. "ok" means the caller got past authorization (any status but 401, 403 and
5xx; and not 404 unless the row says the resource may legitimately be absent).
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Mount

from server.projects.models import Project
from server.users.models import User
from server.users.tokens import issue_token
from tests.server.conftest import spec_for

ROLES = ("anonymous", "viewer", "member", "project_admin", "other_team", "worker")
OK = "ok"

PUBLIC = dict.fromkeys(ROLES, OK)
ANY_USER = {**dict.fromkeys(ROLES, OK), "anonymous": 401, "worker": 403}
GLOBAL_ADMIN = {**dict.fromkeys(ROLES, 403), "anonymous": 401}
PROJECT_READ = {
    "anonymous": 401,
    "viewer": OK,
    "member": OK,
    "project_admin": OK,
    "other_team": 404,
    "worker": 403,
}
PROJECT_WRITE = {**PROJECT_READ, "viewer": 403}
PROJECT_ADMIN = {**PROJECT_WRITE, "member": 403}
OWN_TOKEN = {**dict.fromkeys(ROLES, 404), "anonymous": 401, "worker": 403, "member": OK}
WORKER = {**dict.fromkeys(ROLES, 403), "anonymous": 401, "worker": OK}


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
    tokens: dict[str, str | None] = field(default_factory=dict)

    def run(self) -> str:
        return str(self.make_run(self.project, self.member).id)

    def experiment(self) -> str:
        return str(self.make_run(self.project, self.member).experiment_id)

    def new_member(self) -> str:
        user, _ = self.make_user()
        self.add_member(self.project, user, "member")
        return user.id

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


def _random(_w: World) -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Row:
    expected: dict[str, int | str]
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
    ("GET", "/api/v1/experiments"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/experiments/{}"): Row(PROJECT_READ, _no_body(World.experiment)),
    ("GET", "/api/v1/runs"): Row(ANY_USER, _no_body()),
    ("GET", "/api/v1/runs/{}"): Row(PROJECT_READ, _no_body(_run)),
    # The run belongs to the member, so the member cancels as its owner.
    ("POST", "/api/v1/runs/{}/cancel"): Row(PROJECT_WRITE, _no_body(_run)),
    # telemetry (server-data slice)
    ("GET", "/api/v1/runs/{}/metrics"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/metrics/{}"): Row(
        PROJECT_READ, _no_body(_run, lambda w: "loss"), may_404=True
    ),
    ("GET", "/api/v1/runs/{}/logs"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/events"): Row(PROJECT_READ, _no_body(_run), streams=True),
    ("GET", "/api/v1/runs/{}/checkpoints"): Row(PROJECT_READ, _no_body(_run)),
    ("GET", "/api/v1/runs/{}/exports"): Row(PROJECT_READ, _no_body(_run)),
    # No checkpoint or export exists here, so every user sees 404; the rows still pin down
    # that anonymous callers and worker tokens are refused before any lookup.
    ("GET", "/api/v1/checkpoints/{}/download"): Row(PROJECT_READ, _no_body(_random), may_404=True),
    ("GET", "/api/v1/exports/{}/download"): Row(PROJECT_READ, _no_body(_random), may_404=True),
    ("GET", "/api/v1/workers"): Row(ANY_USER, _no_body()),
    # worker-facing
    ("GET", "/api/v1/worker/runs/{}/bundle"): Row(WORKER, _no_body(_run), may_404=True),
    ("POST", "/api/v1/worker/runs/{}/checkpoints"): Row(WORKER, _no_body(_run), may_404=True),
    ("POST", "/api/v1/worker/runs/{}/exports"): Row(WORKER, _no_body(_run), may_404=True),
    ("POST", "/api/v1/worker/heartbeat"): Row(WORKER, _no_body()),
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
    return None if status == expected else f"expected {expected}, got {status}"


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
    world = World(session, make_user, make_run, add_member, project, member)
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "viewer": viewer_token,
        "member": member_token,
        "project_admin": admin_token,
        "other_team": outsider_token,
        "worker": make_worker_token(),
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
