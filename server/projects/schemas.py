from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.projects.models import Role

PROJECT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PROJECT_NAME, description="what experiment specs put in 'project'")
    description: str = Field(default="", max_length=2000)


class ProjectPublic(BaseModel):
    id: str
    name: str
    description: str
    created_at: datetime
    role: Role = Field(description="your role in this project")


class MemberAdd(BaseModel):
    """Adds a user to the project, or changes the role of one who is a member already."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, max_length=36)
    email: str | None = Field(default=None, max_length=254)
    role: Role = Role.member


class MemberPublic(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
