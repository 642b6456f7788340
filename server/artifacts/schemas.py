from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    run_id: str
    attempt: int
    epoch: int
    step: int
    metrics: dict[str, float]
    size: int
    sha256: str
    is_best: bool
    is_last: bool
    created_at: datetime
    retained: bool = Field(
        default=True, description="false when the retention policy dropped it at once"
    )


class ExportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    run_id: str
    format: str
    size: int
    sha256: str
    input_signature: dict[str, Any]
    verified: bool
    created_at: datetime


class ArtifactEntry(BaseModel):
    path: str = Field(description="relative to the run's folder, '/'-separated")
    name: str
    kind: Literal["file", "dir"]
    size: int = Field(description="bytes (0 for a directory)")
    modified: datetime
    preview: Literal["text", "image"] | None = Field(
        default=None, description="how the dashboard may preview it; null: download only"
    )


class ArtifactTree(BaseModel):
    run_id: str
    entries: list[ArtifactEntry] = Field(description="directories and files, in path order")
