"""Every slice's table models, imported in one place so Alembic and the tests see all tables.

Each slice adds one import line here.
"""

from server.db import Base
from server.experiments.models import Experiment, ExperimentTag
from server.projects.models import Project, ProjectMember
from server.runs.models import Run, RunTransition
from server.users.models import ApiToken, User

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Base",
    "Experiment",
    "ExperimentTag",
    "Project",
    "ProjectMember",
    "Run",
    "RunTransition",
    "User",
    "metadata",
]
