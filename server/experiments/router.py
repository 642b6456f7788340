from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from server.bundles.inspection import BundleLimits
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND, TOO_LARGE, ErrorPublic
from server.experiments import repository, service
from server.experiments.admission import describe
from server.experiments.intake import read_submission
from server.experiments.models import Experiment
from server.experiments.schemas import (
    ExperimentDetail,
    ExperimentPage,
    ExperimentPlan,
    ExperimentPublic,
    ExperimentSort,
    TrialPlan,
)
from server.pagination import encode_cursor

router = APIRouter(tags=["experiments"], responses=AUTH_ERRORS)

_SPEC_REF = {"$ref": "#/components/schemas/ExperimentSpec"}
_SUBMISSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _SPEC_REF},
            "application/yaml": {"schema": {"type": "string", "description": "a YAML spec"}},
            "text/yaml": {"schema": {"type": "string", "description": "a YAML spec"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["spec"],
                    "additionalProperties": False,
                    "properties": {
                        "spec": {"type": "string", "description": "the spec, YAML or JSON"},
                        "bundle": {
                            "type": "string",
                            "format": "binary",
                            "description": "code bundle, a .tar.gz",
                        },
                    },
                }
            },
        },
    }
}


_INVALID: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorPublic, "description": "not JSON, YAML or multipart"},
    422: {
        "description": "invalid spec or bundle, or resources no registered worker could hold; "
        "each error names its field path",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    },
}


def _limits(settings: SettingsDep) -> BundleLimits:
    return BundleLimits(
        max_members=settings.max_bundle_members,
        max_unpacked_bytes=settings.max_bundle_unpacked_bytes,
    )


def _public(experiment: Experiment, run_count: int) -> ExperimentPublic:
    fields = {c: getattr(experiment, c) for c in ExperimentPublic.model_fields if c != "run_count"}
    return ExperimentPublic.model_validate({**fields, "run_count": run_count})


@router.post(
    "/experiments",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_SUBMISSION_BODY,
    responses={**NOT_FOUND, **TOO_LARGE, **_INVALID},
)
async def create_experiment(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ExperimentDetail:
    """Submit an experiment: its spec as JSON or YAML, or multipart with `spec` and an optional
    code `bundle`. A search expands into one queued run per trial (an ASHA search's trials
    wait `paused` until it starts them)."""
    submission = await read_submission(request, settings)
    experiment, run_ids = await run_in_threadpool(
        service.create_experiment, session, user, submission, settings.artifacts, _limits(settings)
    )
    public = _public(experiment, len(run_ids))
    return ExperimentDetail(**public.model_dump(), spec=experiment.spec, run_ids=run_ids)


@router.post(
    "/experiments/validate",
    openapi_extra=_SUBMISSION_BODY,
    responses={**NOT_FOUND, **TOO_LARGE, **_INVALID},
)
async def validate_experiment(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ExperimentPlan:
    """Check a submission as submit would (spec, project, search expansion, whether a
    registered worker could hold the runs, the entrypoints in a bundle) without creating
    anything. Problems are the same 4xx answers submit gives."""
    submission = await read_submission(request, settings)
    plan = await run_in_threadpool(
        service.validate_experiment, session, user, submission, _limits(settings)
    )
    return ExperimentPlan(
        project=plan.project.name,
        project_id=plan.project.id,
        trials=[TrialPlan(index=i, params=t.params) for i, t in enumerate(plan.trials)],
        resources_summary=describe(submission.spec.resources),
        notes=plan.notes,
    )


@router.get("/experiments")
def list_experiments(
    user: CurrentUser,
    session: SessionDep,
    project_id: str | None = None,
    owner_id: str | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: ExperimentSort = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ExperimentPage:
    rows, key = repository.list_experiments(
        session,
        user,
        project_id=project_id,
        owner_id=owner_id,
        tag=tag,
        text=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(key, rows[-1].created_at, rows[-1].id)
    counts = repository.run_counts(session, [e.id for e in rows])
    return ExperimentPage(
        items=[_public(e, counts.get(e.id, 0)) for e in rows], next_cursor=next_cursor
    )


@router.get("/experiments/{experiment_id}", responses=NOT_FOUND)
def get_experiment(experiment_id: str, user: CurrentUser, session: SessionDep) -> ExperimentDetail:
    experiment = repository.get_readable_experiment(session, user, experiment_id)
    run_ids = repository.run_ids(session, experiment.id)
    public = _public(experiment, len(run_ids))
    return ExperimentDetail(**public.model_dump(), spec=experiment.spec, run_ids=run_ids)
