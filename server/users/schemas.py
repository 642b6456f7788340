from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,189}$", max_length=254)
    name: str = Field(min_length=1, max_length=200)
    is_admin: bool = False


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime


class UserCreated(BaseModel):
    user: UserPublic
    token: str = Field(description="the new user's first API token; shown only this once")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["user", "worker"] = "user"
    worker_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="required for worker tokens"
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    user_id: str | None
    run_id: str | None
    worker_name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the secret; shown only this once, stored hashed")
