"""Users and their tokens: creation, listing, revocation. Services commit their unit of work."""

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.users.models import ApiToken, User
from server.users.schemas import TokenCreate, UserCreate
from server.users.tokens import issue_token, revoke


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("only a Runyard administrator may do this; ask one")


def create_user(session: Session, actor: User, data: UserCreate) -> tuple[User, str]:
    require_admin(actor)
    email = data.email.lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email!r} exists already")
    user = User(email=email, name=data.name, is_admin=data.is_admin, created_at=utcnow())
    session.add(user)
    session.flush()
    _, secret = issue_token(session, kind="user", name="initial", user_id=user.id)
    session.commit()
    return user, secret


def list_users(session: Session, actor: User) -> Sequence[User]:
    require_admin(actor)
    return session.scalars(select(User).order_by(User.created_at, User.id)).all()


def find_user(session: Session, *, user_id: str | None, email: str | None) -> User:
    if user_id is not None:
        user = session.get(User, user_id)
    elif email is not None:
        user = session.scalar(select(User).where(User.email == email.lower()))
    else:
        raise InvalidInput("give 'user_id' or 'email'", loc=["body", "user_id"])
    if user is None:
        raise NotFound("no such user; check the id or email")
    return user


def create_token(session: Session, actor: User, data: TokenCreate) -> tuple[ApiToken, str]:
    expires_at = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    if data.kind == "worker":
        require_admin(actor)
        if not data.worker_name:
            raise InvalidInput("a worker token needs 'worker_name'", loc=["body", "worker_name"])
        token, secret = issue_token(
            session,
            kind="worker",
            name=data.name,
            worker_name=data.worker_name,
            expires_at=expires_at,
        )
    else:
        if data.worker_name is not None:
            raise InvalidInput("'worker_name' is for worker tokens", loc=["body", "worker_name"])
        token, secret = issue_token(
            session, kind="user", name=data.name, user_id=actor.id, expires_at=expires_at
        )
    session.commit()
    return token, secret


def _visible_tokens(actor: User):  # type: ignore[no-untyped-def]
    query = select(ApiToken).where(ApiToken.kind != "run")
    if actor.is_admin:
        return query.where(or_(ApiToken.user_id == actor.id, ApiToken.kind == "worker"))
    return query.where(ApiToken.user_id == actor.id)


def list_tokens(session: Session, actor: User) -> Sequence[ApiToken]:
    return session.scalars(_visible_tokens(actor).order_by(ApiToken.created_at, ApiToken.id)).all()


def revoke_token(session: Session, actor: User, token_id: str) -> None:
    token = session.scalar(_visible_tokens(actor).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound("no such token among yours; list them with GET /api/v1/tokens")
    revoke(token)
    session.commit()
