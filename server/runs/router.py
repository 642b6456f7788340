from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from runyard.schemas.states import RunState
from server.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.experiments.models import Experiment, RungResult
from server.pagination import encode_cursor
from server.runs import repository, service
from server.runs.compare import compare_table
from server.runs.listing import column_values, parse_columns
from server.runs.models import Run, RunTransition
from server.runs.schemas import (
    CompareQuery,
    CompareTable,
    RunDetail,
    RungResultPublic,
    RunPage,
    RunPatch,
    RunPublic,
    TransitionPublic,
)
from server.workers.models import Worker

router = APIRouter(tags=["runs"], responses=AUTH_ERRORS)


_COMPUTED = ("experiment_name", "columns", "tags")


def _public(
    run: Run,
    experiment_name: str,
    tags: list[str],
    columns: dict[str, Any] | None = None,
) -> RunPublic:
    fields = {c: getattr(run, c) for c in RunPublic.model_fields if c not in _COMPUTED}
    return RunPublic.model_validate(
        {**fields, "experiment_name": experiment_name, "tags": tags, "columns": columns or {}}
    )


@router.get("/runs")
def list_runs(
    user: CurrentUser,
    session: SessionDep,
    state: Annotated[list[RunState] | None, Query()] = None,
    owner_id: str | None = None,
    project_id: str | None = None,
    experiment_id: str | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the name")] = None,
    id_prefix: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=36,
            pattern=r"^[0-9a-fA-F-]+$",
            description="runs whose id starts with this (a short id, as the CLI shows)",
        ),
    ] = None,
    sort: Annotated[
        str,
        Query(
            max_length=400,
            description="created_at, priority, metrics.<key>[.min|.max] or params.<key>; "
            "'-' in front for descending. Runs without the metric or param come last.",
            examples=["-metrics.val_acc", "params.model.lr"],
        ),
    ] = "-created_at",
    filter_text: Annotated[
        str | None,
        Query(
            alias="filter",
            max_length=2000,
            description="e.g. metrics.val_acc > 0.9 and params.model.lr < 0.01: comparisons "
            "(= != < <= > >=) of metrics.<key>[.min|.max], params.<key>, state, experiment, "
            "priority, trial_index with numbers, 'quoted' text, true, false; and, or, not, "
            "parentheses. A run without the metric or param never matches.",
        ),
    ] = None,
    columns: Annotated[
        list[str] | None,
        Query(
            description="extra columns for each row (repeat, or separate with commas): "
            "metrics.<key> (last value), metrics.<key>.min, .max, params.<key>",
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RunPage:
    """Runs in your projects, filtered, sorted, a page at a time (pass `next_cursor` back)."""
    chosen = parse_columns([n for raw in columns or [] for n in raw.split(",") if n.strip()])
    rows, key = repository.list_runs(
        session,
        user,
        id_prefix=id_prefix.lower() if id_prefix else None,
        states=state,
        owner_id=owner_id,
        project_id=project_id,
        experiment_id=experiment_id,
        tag=tag,
        text=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
        filter_text=filter_text,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last, _, value = rows[-1]
        next_cursor = encode_cursor(key, value, last.id)
    ids = [run.id for run, _, _ in rows]
    values = column_values(session, ids, chosen)
    tags = repository.tags_of(session, ids)
    return RunPage(
        items=[_public(run, name, tags[run.id], values[run.id]) for run, name, _ in rows],
        columns=[c.name for c in chosen],
        next_cursor=next_cursor,
    )


@router.post("/runs/compare")
def compare_runs(query: CompareQuery, user: CurrentUser, session: SessionDep) -> CompareTable:
    """Every flat param and metric summary (last, min, max) of up to 1,000 runs of your
    projects, chosen by id or by a filter: what the Compare page charts. POST, because 1,000
    ids do not fit in a URL."""
    return compare_table(session, user, query)


def _detail(session: SessionDep, run: Run) -> RunDetail:
    experiment = session.get(Experiment, run.experiment_id)
    transitions = session.scalars(
        select(RunTransition)
        .where(RunTransition.run_id == run.id)
        .order_by(RunTransition.at, RunTransition.id)
    ).all()
    public = _public(
        run, experiment.name if experiment else "", repository.tags_of(session, [run.id])[run.id]
    )
    worker = session.get(Worker, run.worker_id) if run.worker_id else None
    results = session.scalars(
        select(RungResult).where(RungResult.run_id == run.id).order_by(RungResult.rung)
    )
    return RunDetail(
        **public.model_dump(),
        spec=run.spec,
        notes=run.notes or "",
        experiment_tags=list(experiment.tags) if experiment else [],
        flat_params=repository.params_of(session, run.id),
        traceback=run.traceback,
        transitions=[TransitionPublic.model_validate(t) for t in transitions],
        isolation=worker.isolation if worker is not None else None,  # type: ignore[arg-type]
        rung_results=[RungResultPublic.model_validate(r) for r in results],
    )


@router.get("/runs/{run_id}", responses=NOT_FOUND)
def get_run(run_id: str, user: CurrentUser, session: SessionDep) -> RunDetail:
    return _detail(session, repository.get_readable_run(session, user, run_id))


@router.patch("/runs/{run_id}", responses=NOT_FOUND)
def update_run(run_id: str, patch: RunPatch, user: CurrentUser, session: SessionDep) -> RunDetail:
    """Replace the run's own tags and/or its Markdown notes: any member of its project."""
    return _detail(session, service.update_run(session, user, run_id, patch))


@router.post("/runs/{run_id}/cancel", responses={**NOT_FOUND, **CONFLICT})
def cancel_run(
    run_id: str, user: CurrentUser, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> RunDetail:
    """The run's owner or a project admin. Queued and scheduled runs are canceled at once;
    a running run is stopped by its worker, which then reports it canceled."""
    run = service.cancel_run(session, redis, settings.redis_prefix, user, run_id)
    return _detail(session, run)
