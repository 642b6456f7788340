from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

ExperimentSort = Literal["created_at", "-created_at"]


class ExperimentPublic(BaseModel):
    id: str
    project_id: str
    owner_id: str
    name: str
    description: str
    tags: list[str]
    bundle_sha256: str | None
    bundle_size: int | None
    created_at: datetime
    run_count: int


class ExperimentDetail(ExperimentPublic):
    spec: dict[str, Any]
    run_ids: list[str]


class ExperimentPage(BaseModel):
    items: list[ExperimentPublic]
    next_cursor: str | None


class TrialPlan(BaseModel):
    index: int
    params: dict[str, Any]


class ExperimentPlan(BaseModel):
    """What submitting the spec would create; validation creates nothing."""

    project: str
    project_id: str
    trials: list[TrialPlan]
    resources_summary: str
    notes: list[str]
