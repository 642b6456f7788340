from pydantic import BaseModel, Field


class MetricPointPublic(BaseModel):
    step: int
    value: float | None = Field(description="null for NaN or an infinite value")
    epoch: int | None
    wall_time: float | None = Field(description="seconds since the epoch")


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
