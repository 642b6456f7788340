from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from runyard.schemas.states import RunState
from server.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.experiments.models import Experiment, RungResult
from server.pagination import encode_cursor
from server.runs import repository, service
from server.runs.models import Run, RunTransition
from server.runs.schemas import (
    RunDetail,
    RungResultPublic,
    RunPage,
    RunPublic,
    RunSort,
    TransitionPublic,
)
from server.workers.models import Worker

router = APIRouter(tags=["runs"], responses=AUTH_ERRORS)


def _public(run: Run, experiment_name: str) -> RunPublic:
    fields = {c: getattr(run, c) for c in RunPublic.model_fields if c != "experiment_name"}
    return RunPublic.model_validate({**fields, "experiment_name": experiment_name})


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
    sort: RunSort = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RunPage:
    """Runs in your projects, filtered, sorted, a page at a time (pass `next_cursor` back)."""
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
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(key, getattr(last, sort.lstrip("-")), last.id)
    return RunPage(items=[_public(run, name) for run, name in rows], next_cursor=next_cursor)


def _detail(session: SessionDep, run: Run) -> RunDetail:
    experiment = session.get(Experiment, run.experiment_id)
    transitions = session.scalars(
        select(RunTransition)
        .where(RunTransition.run_id == run.id)
        .order_by(RunTransition.at, RunTransition.id)
    ).all()
    public = _public(run, experiment.name if experiment else "")
    worker = session.get(Worker, run.worker_id) if run.worker_id else None
    results = session.scalars(
        select(RungResult).where(RungResult.run_id == run.id).order_by(RungResult.rung)
    )
    return RunDetail(
        **public.model_dump(),
        spec=run.spec,
        traceback=run.traceback,
        transitions=[TransitionPublic.model_validate(t) for t in transitions],
        isolation=worker.isolation if worker is not None else None,  # type: ignore[arg-type]
        rung_results=[RungResultPublic.model_validate(r) for r in results],
    )


@router.get("/runs/{run_id}", responses=NOT_FOUND)
def get_run(run_id: str, user: CurrentUser, session: SessionDep) -> RunDetail:
    return _detail(session, repository.get_readable_run(session, user, run_id))


@router.post("/runs/{run_id}/cancel", responses={**NOT_FOUND, **CONFLICT})
def cancel_run(
    run_id: str, user: CurrentUser, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> RunDetail:
    """The run's owner or a project admin. Queued and scheduled runs are canceled at once;
    a running run is stopped by its worker, which then reports it canceled."""
    run = service.cancel_run(session, redis, settings.redis_prefix, user, run_id)
    return _detail(session, run)
