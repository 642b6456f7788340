from fastapi import APIRouter, status

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.users import service
from server.users.schemas import (
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserCreated,
    UserPublic,
)

router = APIRouter(tags=["users"], responses=AUTH_ERRORS)


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep) -> UserCreated:
    """Administrators only. The answer holds the new user's first token, shown once."""
    created, secret = service.create_user(session, user, body)
    return UserCreated(user=UserPublic.model_validate(created), token=secret)


@router.get("/users")
def list_users(user: CurrentUser, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in service.list_users(session, user)]


@router.get("/users/me")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.get("/tokens")
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenPublic]:
    """Your tokens (administrators also see worker tokens). Secrets are never shown again."""
    return [TokenPublic.model_validate(t) for t in service.list_tokens(session, user)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    token, secret = service.create_token(session, user, body)
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def revoke_token(token_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.revoke_token(session, user, token_id)
