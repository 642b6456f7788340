"""Who is calling: resolving a bearer token to a user, a worker or a run-scoped principal."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import Forbidden, Unauthorized
from server.security import TokenKind, hash_token, hashes_match, parse_token_kind
from server.users.models import ApiToken, User

# Recording every use would turn each read into a write; once a minute is enough to audit.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    kind: TokenKind
    token_id: str
    user: User | None = None
    run_id: str | None = None
    worker_name: str | None = None
    fence: int | None = None
    """A run token's attempt."""

    def require_run(self, run_id: str) -> None:
        """A run-scoped token reaches only its own run (`server.attempts.access` checks that its
        attempt is still the run's, and that a worker holds the run it asks for)."""
        if self.kind == "run" and self.run_id != run_id:
            raise Forbidden("this run-scoped token belongs to another run; use that run's token")


def authenticate(session: Session, raw_token: str | None) -> Principal:
    """The principal behind a bearer token, or Unauthorized saying what is wrong."""
    if not raw_token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    kind = parse_token_kind(raw_token)
    if kind is None:
        raise Unauthorized("malformed token: expected 'ry_<kind>_<secret>' as issued by Runyard")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token)))
    if token is None or token.kind != kind or not hashes_match(token.token_hash, raw_token):
        raise Unauthorized("unknown token: create a new one with POST /api/v1/tokens")
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthorized("this token was revoked: create a new one")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("this token has expired: create a new one")
    user = None
    if token.user_id is not None:
        user = session.get(User, token.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("this token's user is deactivated; ask an admin")
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
        token.last_used_at = now
        session.commit()
    return Principal(
        kind=kind,
        token_id=token.id,
        user=user,
        run_id=token.run_id,
        worker_name=token.worker_name,
        fence=token.fence,
    )
