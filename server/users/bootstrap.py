"""First start: with no users at all, create the administrator and hand out its token once."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.users.models import User
from server.users.tokens import issue_token

BOOTSTRAP_EMAIL = "admin@localhost"


def bootstrap_admin(session: Session) -> str | None:
    """The new admin's token, or None when users exist already (the token is never shown
    again: it is stored hashed)."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    admin = User(email=BOOTSTRAP_EMAIL, name="admin", is_admin=True, created_at=utcnow())
    session.add(admin)
    session.flush()
    _, secret = issue_token(session, kind="user", name="bootstrap", user_id=admin.id)
    session.commit()
    return secret
