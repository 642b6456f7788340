"""Issuing and revoking API tokens. The secret is returned once and never stored."""

from datetime import datetime

from sqlalchemy.orm import Session

from server.db import utcnow
from server.security import TokenKind, hash_token, new_token
from server.users.models import ApiToken


def issue_token(
    session: Session,
    *,
    kind: TokenKind,
    name: str,
    user_id: str | None = None,
    run_id: str | None = None,
    worker_name: str | None = None,
    fence: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Adds a token row (the caller commits) and returns it with its one-time secret."""
    secret = new_token(kind)
    token = ApiToken(
        kind=kind,
        name=name,
        user_id=user_id,
        run_id=run_id,
        worker_name=worker_name,
        fence=fence,
        token_hash=hash_token(secret),
        expires_at=expires_at,
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return token, secret


def issue_run_token(session: Session, run_id: str, owner_id: str, fence: int) -> str:
    """A token user code on a worker uses for exactly one run, valid only while the attempt
    `fence` is the run's open attempt (the caller commits)."""
    _, secret = issue_token(
        session,
        kind="run",
        name=f"run {run_id} (fence {fence})",
        user_id=owner_id,
        run_id=run_id,
        fence=fence,
    )
    return secret


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
