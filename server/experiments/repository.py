"""Experiment queries; as with runs, one you may not read is not found."""

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.experiments.models import Experiment, ExperimentTag
from server.pagination import SortKey, apply_keyset
from server.projects.service import readable_project_ids
from server.runs.models import Run
from server.users.models import User

EXPERIMENT_SORTS = {
    name: SortKey(
        name,
        column=Experiment.created_at,
        id_column=Experiment.id,
        descending=name.startswith("-"),
        is_datetime=True,
    )
    for name in ("created_at", "-created_at")
}


def readable_experiments(user: User) -> Select[Experiment]:
    return select(Experiment).where(Experiment.project_id.in_(readable_project_ids(user)))


def get_readable_experiment(session: Session, user: User, experiment_id: str) -> Experiment:
    experiment = session.scalar(readable_experiments(user).where(Experiment.id == experiment_id))
    if experiment is None:
        raise NotFound("no such experiment among your projects; list yours with GET /experiments")
    return experiment


def run_ids(session: Session, experiment_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Run.id).where(Run.experiment_id == experiment_id).order_by(Run.trial_index)
        )
    )


def run_counts(session: Session, experiment_ids: list[str]) -> dict[str, int]:
    if not experiment_ids:
        return {}
    rows = session.execute(
        select(Run.experiment_id, func.count())
        .where(Run.experiment_id.in_(experiment_ids))
        .group_by(Run.experiment_id)
    ).all()
    return {experiment_id: count for experiment_id, count in rows}


def list_experiments(
    session: Session,
    user: User,
    *,
    project_id: str | None,
    owner_id: str | None,
    tag: str | None,
    text: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Experiment], Any]:
    query = readable_experiments(user)
    if project_id:
        query = query.where(Experiment.project_id == project_id)
    if owner_id:
        query = query.where(Experiment.owner_id == owner_id)
    if tag:
        query = query.where(
            Experiment.id.in_(select(ExperimentTag.experiment_id).where(ExperimentTag.tag == tag))
        )
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Experiment.name.ilike(pattern, escape="\\"),
                Experiment.description.ilike(pattern, escape="\\"),
            )
        )
    key = EXPERIMENT_SORTS[sort]
    return list(session.scalars(apply_keyset(query, key, cursor, limit)).all()), key
