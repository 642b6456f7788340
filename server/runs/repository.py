"""Run queries. Authorization is part of the query: a run you may not read is not found."""

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from server.errors import NotFound
from server.experiments.models import Experiment, ExperimentTag
from server.pagination import SortKey, apply_keyset
from server.projects.service import readable_project_ids
from server.runs.models import Run
from server.users.models import User

RUN_NOT_FOUND = "no such run among your projects; list yours with GET /api/v1/runs"

RUN_SORTS = {
    name: SortKey(
        name,
        column=getattr(Run, name.lstrip("-")),
        id_column=Run.id,
        descending=name.startswith("-"),
        is_datetime=name.lstrip("-") == "created_at",
    )
    for name in ("created_at", "-created_at", "priority", "-priority")
}


def readable_runs(user: User) -> Select[Run]:
    return select(Run).where(Run.project_id.in_(readable_project_ids(user)))


def get_readable_run(session: Session, user: User, run_id: str) -> Run:
    run = session.scalar(readable_runs(user).where(Run.id == run_id))
    if run is None:
        raise NotFound(RUN_NOT_FOUND)
    return run


def list_runs(
    session: Session,
    user: User,
    *,
    id_prefix: str | None = None,
    states: list[RunState] | None,
    owner_id: str | None,
    project_id: str | None,
    experiment_id: str | None,
    tag: str | None,
    text: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Run, str]], Any]:
    """Rows of (run, experiment name), at most `limit` + 1 of them, and the sort key used."""
    query: Select[Run, str] = select(Run, Experiment.name).join(
        Experiment, Experiment.id == Run.experiment_id
    )
    query = query.where(Run.project_id.in_(readable_project_ids(user)))
    if id_prefix:
        # Hex digits and dashes only (checked by the route), so nothing needs escaping.
        query = query.where(Run.id.startswith(id_prefix, autoescape=True))
    if states:
        query = query.where(Run.state.in_([s.value for s in states]))
    if owner_id:
        query = query.where(Run.owner_id == owner_id)
    if project_id:
        query = query.where(Run.project_id == project_id)
    if experiment_id:
        query = query.where(Run.experiment_id == experiment_id)
    if tag:
        tagged = select(ExperimentTag.experiment_id).where(ExperimentTag.tag == tag)
        query = query.where(Run.experiment_id.in_(tagged))
    if text:
        needle = text.lower()
        query = query.where(
            or_(
                Experiment.name.ilike(f"%{_escape_like(needle)}%", escape="\\"),
                Experiment.description.ilike(f"%{_escape_like(needle)}%", escape="\\"),
            )
        )
    key = RUN_SORTS[sort]
    query = apply_keyset(query, key, cursor, limit)
    return [(row[0], row[1]) for row in session.execute(query).all()], key


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
