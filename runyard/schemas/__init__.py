"""Wire formats shared by the server, the workers and the clients. Defined once, here."""

from runyard.schemas.events import (
    CheckpointEvent,
    Event,
    EventAdapter,
    LogEvent,
    MetricPoint,
    MetricsEvent,
    StateEvent,
)
from runyard.schemas.spec import (
    CheckpointPolicy,
    EntrypointSpec,
    ExperimentSpec,
    ExportPolicy,
    ParamSpace,
    Resources,
    SearchSpec,
    TrainerArgs,
    parse_spec_text,
)
from runyard.schemas.states import TERMINAL_STATES, RunState, can_transition

__all__ = [
    "TERMINAL_STATES",
    "CheckpointEvent",
    "CheckpointPolicy",
    "EntrypointSpec",
    "Event",
    "EventAdapter",
    "ExperimentSpec",
    "ExportPolicy",
    "LogEvent",
    "MetricPoint",
    "MetricsEvent",
    "ParamSpace",
    "Resources",
    "RunState",
    "SearchSpec",
    "StateEvent",
    "TrainerArgs",
    "can_transition",
    "parse_spec_text",
]
