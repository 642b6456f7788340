from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runyard.schemas.states import RunState
from runyard.schemas.text import find_unstorable
from runyard.schemas.tracking import RunKind


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    experiment_id: str
    experiment_name: str
    project_id: str
    owner_id: str
    trial_index: int
    state: RunState
    kind: RunKind = Field(
        default=RunKind.scheduled,
        description="'external': logged from outside the cluster (runyard.init, MLflow), never scheduled",
    )
    attempt: int
    params: dict[str, Any]
    priority: int
    worker_id: str | None
    devices: list[int]
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    exit_reason: str | None
    resume_checkpoint_id: str | None
    rung: int | None = Field(
        default=None,
        description="ASHA trials: the rung it trains for, waits at or ended at (0 is the "
        "first); null before it starts and outside an ASHA search",
    )
    tags: list[str] = Field(
        default_factory=list, description="the run's own tags, sorted (PATCH /runs/{id})"
    )
    columns: dict[str, Any] = Field(
        default_factory=dict,
        description="the chosen extra columns (GET /runs?columns=...): a metric's value "
        '(a number, or "NaN", "Infinity", "-Infinity"), a param\'s value; null where the run '
        "has none",
    )


class TransitionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: RunState | None
    to_state: RunState
    attempt: int
    reason: str | None
    at: datetime


class RungResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rung: int
    epochs: int = Field(description="epochs trained when it reached the end of the rung")
    value: float | None = Field(description="the search metric there (null: NaN)")


class RunDetail(RunPublic):
    spec: dict[str, Any]
    notes: str = Field(description="Markdown notes about the run (PATCH /runs/{id})")
    experiment_tags: list[str] = Field(description="tags of its experiment, set at submission")
    flat_params: dict[str, Any] = Field(
        description="every parameter under a dotted key: model.<init arg>, model.class, "
        "datamodule.<init arg>, trainer.<setting>, and searched values elsewhere by path",
    )
    traceback: str | None
    transitions: list[TransitionPublic]
    isolation: Literal["sandbox", "none"] | None = Field(
        default=None,
        description="how the worker that runs (or last ran) it isolates runs; 'none': this "
        "run's code could reach other runs and the worker (RUNYARD_WORKER_ISOLATION=none)",
    )
    rung_results: list[RungResultPublic] = Field(
        default_factory=list, description="ASHA trials: the metric at the end of each rung"
    )


class RunPage(BaseModel):
    items: list[RunPublic]
    columns: list[str] = Field(
        default_factory=list, description="the extra columns of each row, canonically named"
    )
    next_cursor: str | None


MAX_RUN_TAGS = 32
MAX_NOTES = 100_000


class RunPatch(BaseModel):
    """What a project member may change on a run after submission; absent fields stay."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] | None = Field(
        default=None,
        max_length=MAX_RUN_TAGS,
        description="replaces the run's own tags (each 1-64 characters, no surrounding spaces)",
    )
    notes: str | None = Field(default=None, max_length=MAX_NOTES, description="Markdown")

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        for tag in tags:
            if not tag or len(tag) > 64 or tag != tag.strip():
                raise ValueError(f"tag {tag!r} must be 1-64 characters without surrounding spaces")
            if any(ord(c) < 32 for c in tag) or find_unstorable(tag) is not None:
                raise ValueError(f"tag {tag!r} must not contain control characters")
        return list(dict.fromkeys(tags))

    @field_validator("notes")
    @classmethod
    def _check_notes(cls, notes: str | None) -> str | None:
        if notes is not None and find_unstorable(notes) is not None:
            raise ValueError("notes must not contain NUL characters or unpaired surrogates")
        return notes


MAX_COMPARED_RUNS = 1000


class CompareQuery(BaseModel):
    """Which runs to compare: these ids, or the runs a filter matches (newest first)."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_COMPARED_RUNS,
        description="the runs to compare; ids you cannot read are listed under `missing`",
    )
    filter: str | None = Field(
        default=None,
        max_length=2000,
        description="instead of run_ids: the runs list's filter language (GET /runs?filter=)",
    )
    limit: int = Field(default=MAX_COMPARED_RUNS, ge=1, le=MAX_COMPARED_RUNS)


class MetricSummaryCell(BaseModel):
    """A metric's summary as the ingester keeps it: a number, or "NaN", "Infinity",
    "-Infinity"."""

    last: float | str
    min: float | str
    max: float | str
    last_step: int | None


class CompareRow(BaseModel):
    id: str
    experiment_id: str
    experiment_name: str
    state: RunState
    trial_index: int
    created_at: datetime
    params: dict[str, Any] = Field(
        description="the run's flat params (see RunDetail.flat_params) as the filter compares "
        "them: numbers, text; booleans as 'true'/'false', lists and objects as their JSON text"
    )
    metrics: dict[str, MetricSummaryCell] = Field(description="each metric key's summary")


class CompareTable(BaseModel):
    """Every flat param and every metric summary of up to 1,000 runs, for one page of
    comparison charts (parallel coordinates, scatter) without a request per run."""

    runs: list[CompareRow]
    param_keys: list[str] = Field(description="the union of the runs' param keys, sorted")
    metric_keys: list[str] = Field(description="the union of the runs' metric keys, sorted")
    missing: list[str] = Field(
        default_factory=list, description="asked-for ids that are not among your projects' runs"
    )
    truncated: bool = Field(description="the filter matched more runs than `limit`")
