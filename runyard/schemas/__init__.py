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
from runyard.schemas.tasks import (
    RUN_TASK,
    CancelNotice,
    RunAssignment,
    assignment_key,
    broker_transport_options,
    cancel_channel,
    worker_queue,
    worker_runs_key,
)

__all__ = [
    "RUN_TASK",
    "TERMINAL_STATES",
    "CancelNotice",
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
    "RunAssignment",
    "RunState",
    "SearchSpec",
    "StateEvent",
    "TrainerArgs",
    "assignment_key",
    "broker_transport_options",
    "can_transition",
    "cancel_channel",
    "parse_spec_text",
    "worker_queue",
    "worker_runs_key",
]
