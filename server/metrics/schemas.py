import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic reads only this TypedDict on 3.11

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
MetricValue = float | NonFinite
"""A metric value on the wire: a JSON number, or one of three strings for what JSON cannot
spell (the spelling pydantic and JavaScript's `Number()` both read back)."""


def public_value(value: float) -> MetricValue:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# A plain dict rather than a model: a page of charts answers 100,000s of points, and a model
# instance per point was most of the server's time. The JSON and its schema are the same.
class MetricPointPublic(TypedDict):
    step: int
    value: Annotated[MetricValue, Field(description='a number, or "NaN", "Infinity", "-Infinity"')]
    epoch: int | None
    wall_time: Annotated[float | None, Field(description="seconds since the epoch")]


class MetricKeysPublic(BaseModel):
    run_id: str
    keys: list[str]


class MetricSeriesPublic(BaseModel):
    run_id: str
    key: str
    max_points: int
    downsampled: bool = Field(description="true when points were dropped to fit max_points")
    points: list[MetricPointPublic]


class MetricSeriesBatchPublic(BaseModel):
    run_id: str
    max_points: int
    series: list[MetricSeriesPublic] = Field(
        description="one entry per requested key, in the order asked (every key of the run, "
        "sorted, when none was named)"
    )


class StepValue(BaseModel):
    step: int
    value: MetricValue


class MetricSummaryPublic(BaseModel):
    key: str
    points: int = Field(description="steps stored")
    first_step: int
    last: StepValue
    min: StepValue = Field(
        description="the smallest value (the earliest on ties); NaN only when every value is"
    )
    max: StepValue


class IngestUsagePublic(BaseModel):
    """What the run's limits have kept out so far (see RUNYARD_MAX_* settings)."""

    log_bytes: int = Field(description="bytes of log stored")
    log_lines_dropped: int = Field(description="oldest lines dropped to stay under the limit")
    metric_keys: int
    metric_points_refused: int = Field(description="points of keys past the key limit")
    events_refused: int = Field(description="events larger than the event size limit")


class RunSummaryPublic(BaseModel):
    run_id: str
    metrics: list[MetricSummaryPublic] = Field(description="every metric key, sorted")
    usage: IngestUsagePublic
