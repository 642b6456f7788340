"""MLflow's request bodies (its protobuf messages as JSON) and the pieces of its replies.

MLflow's JSON spells int64 fields as numbers or strings and doubles as numbers or "NaN",
"Infinity", "-Infinity": both are accepted (pydantic's lax mode)."""

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class KeyValue(_Body):
    key: str = Field(min_length=1, max_length=250)
    value: str = Field(default="", max_length=8000)


class MetricIn(_Body):
    key: str = Field(min_length=1, max_length=200)
    value: float
    timestamp: int = Field(default=0, ge=0)
    step: int = Field(default=0, ge=0, le=2**62)


class CreateExperiment(_Body):
    name: str = Field(min_length=1, max_length=128)


class CreateRun(_Body):
    experiment_id: str = Field(min_length=1, max_length=36)
    run_name: str | None = Field(default=None, max_length=128)
    start_time: int | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class _OfRun(_Body):
    run_id: str | None = Field(default=None, max_length=36)
    run_uuid: str | None = Field(default=None, max_length=36)

    @property
    def id(self) -> str:
        return self.run_id or self.run_uuid or ""


class LogMetric(_OfRun, MetricIn):
    pass


class LogParam(_OfRun, KeyValue):
    pass


class SetTag(_OfRun, KeyValue):
    pass


class LogBatch(_OfRun):
    metrics: list[MetricIn] = Field(default_factory=list, max_length=1000)
    params: list[KeyValue] = Field(default_factory=list, max_length=100)
    tags: list[KeyValue] = Field(default_factory=list, max_length=100)


class UpdateRun(_OfRun):
    status: str | None = None
    end_time: int | None = None
    run_name: str | None = None
