"""Every slice's table models, imported in one place so Alembic and the tests see all tables.

Each slice adds one import line here.
"""

from server.artifacts.models import Checkpoint, ExportedModel
from server.attempts.models import AttemptNode, RunAttempt, SchedulerLease, ServicePresence
from server.db import Base
from server.experiments.models import Experiment, ExperimentTag, RungResult
from server.ingest.models import RunIngestUsage
from server.logs.models import LogLine
from server.metrics.models import MetricBlock, MetricCoarseRollup, MetricRollup, MetricSeries
from server.projects.models import Project, ProjectMember
from server.runs.models import Run, RunParam, RunTag, RunTransition
from server.tracking.models import ExternalBatch
from server.users.models import ApiToken, User
from server.workers.models import Worker

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "AttemptNode",
    "Base",
    "Checkpoint",
    "Experiment",
    "ExperimentTag",
    "ExportedModel",
    "ExternalBatch",
    "LogLine",
    "MetricBlock",
    "MetricCoarseRollup",
    "MetricRollup",
    "MetricSeries",
    "Project",
    "ProjectMember",
    "Run",
    "RunAttempt",
    "RunIngestUsage",
    "RunParam",
    "RunTag",
    "RunTransition",
    "RungResult",
    "SchedulerLease",
    "ServicePresence",
    "User",
    "Worker",
    "metadata",
]
