"""Run queries. Authorization is part of the query: a run you may not read is not found."""

from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from runyard.schemas.states import RunState
from server.errors import InvalidInput, NotFound
from server.experiments.models import Experiment, ExperimentTag
from server.pagination import SortKey, apply_keyset
from server.projects.service import readable_project_ids
from server.runs.filter_expr import FilterError, parse_filter
from server.runs.listing import Joins, compile_filter, sort_key
from server.runs.models import Run, RunParam, RunTag
from server.runs.params import comparable
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
"""The builtin sorts (the runs list also sorts by any metric or param: server/runs/listing.py)."""


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
    filter_text: str | None = None,
    load: bool = True,
) -> tuple[list[tuple[Run, str, Any]], SortKey]:
    """Rows of (run, experiment name, sort value), at most `limit` + 1 of them, and the sort
    key used. `filter_text` is the filter language of server/runs/filter_expr.py. Without
    `load`, only the ids: rows of (None, "", run id), for callers that read narrow columns."""
    joins = Joins()
    key = sort_key(session, joins, sort)
    condition = None
    if filter_text is not None and filter_text.strip():
        try:
            expr = parse_filter(filter_text)
        except FilterError as exc:
            raise InvalidInput(f"filter: {exc}", loc=["query", "filter"]) from exc
        condition = compile_filter(expr, joins, filter_text)
    # The ordered page is found on ids and sort values alone (narrow rows to sort), then read.
    query: Select[Any] = select(Run.id, key.column).select_from(Run)
    if text or joins.experiment:
        query = query.join(Experiment, Experiment.id == Run.experiment_id)
    query = joins.apply(query)
    if condition is not None:
        query = query.where(condition)
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
        # The run's own tags and its experiment's.
        tagged = select(ExperimentTag.experiment_id).where(ExperimentTag.tag == tag)
        own = select(RunTag.run_id).where(RunTag.tag == tag)
        query = query.where(or_(Run.experiment_id.in_(tagged), Run.id.in_(own)))
    if text:
        needle = text.lower()
        query = query.where(
            or_(
                Experiment.name.ilike(f"%{_escape_like(needle)}%", escape="\\"),
                Experiment.description.ilike(f"%{_escape_like(needle)}%", escape="\\"),
            )
        )
    query = apply_keyset(query, key, cursor, limit)
    page = session.execute(query).all()
    if not load:
        return [(None, "", row[0]) for row in page], key  # type: ignore[misc]
    loaded = {
        run.id: (run, name)
        for run, name in session.execute(
            select(Run, Experiment.name)
            .join(Experiment, Experiment.id == Run.experiment_id)
            .where(Run.id.in_([row[0] for row in page]))
        ).all()
    }
    return [(*loaded[row[0]], row[1]) for row in page if row[0] in loaded], key


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def store_params(session: Session, run_id: str, flat: dict[str, Any]) -> None:
    """Adds the run's flat params (the caller flushes and commits)."""
    for key, value in flat.items():
        number, text_value = comparable(value)
        session.add(
            RunParam(run_id=run_id, key=key, value=value, value_num=number, value_text=text_value)
        )


def replace_params(session: Session, run_id: str, flat: dict[str, Any]) -> None:
    """Sets these flat params of the run, replacing the keys it had (an external run's client
    may log a param again)."""
    if flat:
        session.execute(
            delete(RunParam).where(RunParam.run_id == run_id, RunParam.key.in_(list(flat)))
        )
        store_params(session, run_id, flat)


def params_of(session: Session, run_id: str) -> dict[str, Any]:
    """The run's flat params, sorted by key."""
    rows = session.execute(
        select(RunParam.key, RunParam.value).where(RunParam.run_id == run_id).order_by(RunParam.key)
    ).all()
    return {key: value for key, value in rows}


def tags_of(session: Session, run_ids: list[str]) -> dict[str, list[str]]:
    """Each run's own tags, sorted."""
    out: dict[str, list[str]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        rows = session.execute(
            select(RunTag.run_id, RunTag.tag).where(RunTag.run_id.in_(run_ids)).order_by(RunTag.tag)
        ).all()
        for run_id, tag in rows:
            out[run_id].append(tag)
    return out
