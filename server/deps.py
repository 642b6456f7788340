"""Dependency aliases, so each route's signature says what it needs."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis import Redis
from sqlalchemy.orm import Session

from server.errors import Forbidden
from server.principals import Principal, authenticate
from server.settings import Settings
from server.users.models import User

_bearer = HTTPBearer(auto_error=False, description="a Runyard API token (ry_<kind>_<secret>)")
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. Services commit once at the end of their unit of work; anything
    not committed (an error half-way) is rolled back when the session closes."""
    with request.app.state.session_factory() as session:
        yield session


def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis)]


def get_principal(session: SessionDep, credentials: _Credentials) -> Principal:
    return authenticate(session, credentials.credentials if credentials else None)


def get_optional_principal(session: SessionDep, credentials: _Credentials) -> Principal | None:
    if credentials is None:
        return None
    return authenticate(session, credentials.credentials)


def get_current_user(principal: Annotated[Principal, Depends(get_principal)]) -> User:
    if principal.kind != "user" or principal.user is None:
        raise Forbidden(
            f"a {principal.kind} token reaches only the worker-facing routes; use a user token"
        )
    return principal.user


def get_worker_principal(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind not in ("worker", "run"):
        raise Forbidden("this route is for workers; use a worker or run-scoped token")
    return principal


CurrentUser = Annotated[User, Depends(get_current_user)]
WorkerPrincipal = Annotated[Principal, Depends(get_worker_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
