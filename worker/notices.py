"""Notices a run's child writes (JSON lines on the notice pipe) for its parent worker.

The child has no Redis or worker credentials; the parent turns these into stream events and
uploads. Paths are relative to, or inside, the run's working directory.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from runyard.schemas import MetricPoint


class MetricsNotice(BaseModel):
    kind: Literal["metrics"] = "metrics"
    points: list[MetricPoint]


class CheckpointNotice(BaseModel):
    kind: Literal["checkpoint"] = "checkpoint"
    path: str
    epoch: int = Field(ge=0)
    step: int = Field(ge=0)
    metrics: dict[str, float] = Field(default_factory=dict)
    is_last: bool = False


class ExportNotice(BaseModel):
    kind: Literal["export"] = "export"
    format: Literal["torchscript", "onnx"]
    path: str
    input_signature: dict[str, Any] = Field(default_factory=dict)
    checkpoint_path: str | None = None
    max_abs_diff: float = Field(description="largest |export - eager| on the sample input")


class FailureNotice(BaseModel):
    """The child's own account of an exception, more reliable than parsing stderr."""

    kind: Literal["failure"] = "failure"
    reason: str
    traceback: str


class PreemptedNotice(BaseModel):
    """The run stopped at a requested preemption, its checkpoint already handed over."""

    kind: Literal["preempted"] = "preempted"
    step: int = Field(ge=0)


Notice = Annotated[
    MetricsNotice | CheckpointNotice | ExportNotice | FailureNotice | PreemptedNotice,
    Field(discriminator="kind"),
]
NoticeAdapter: TypeAdapter[Notice] = TypeAdapter(Notice)
