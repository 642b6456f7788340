from datetime import datetime
from typing import Any

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
