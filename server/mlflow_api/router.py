"""MLflow tracking routes (`/api/2.0/mlflow/...`) over Runyard's projects and external runs.

The mapping: an MLflow experiment is a Runyard project (its id is the project's id, its name
the project's name; `experiments/create` creates a project with you as its admin); an MLflow
run is an external run of that project (its own Runyard experiment, named after the run);
params are the run's params, metrics its series (one value per step: a step logged again
keeps the later value, where MLflow would keep both), tags are kept with the run. The token
is a Runyard user token (MLFLOW_TRACKING_TOKEN), with the same project rules as the rest.
"""

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from runyard.schemas.states import RunState
from runyard.schemas.tracking import ExternalPoint, ExternalRunCreate
from server.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from server.errors import Conflict, InvalidInput, NotFound
from server.experiments.models import Experiment
from server.ingest.run_limits import RunLimits
from server.metrics.models import MetricSeries
from server.metrics.repository import iter_blocks, one_series
from server.mlflow_api import schemas
from server.mlflow_api.errors import MLFLOW_PREFIX, AlreadyExists
from server.projects.models import Project, Role
from server.projects.schemas import ProjectCreate
from server.projects.service import create_project, project_by_name, require_role
from server.runs.models import Run
from server.tracking import service as tracking
from server.users.models import User

router = APIRouter(prefix=MLFLOW_PREFIX, tags=["mlflow"], include_in_schema=False)

_STATUS = {
    RunState.running: "RUNNING",
    RunState.completed: "FINISHED",
    RunState.failed: "FAILED",
    RunState.canceled: "KILLED",
}
_ENDS = {"FINISHED": RunState.completed, "FAILED": RunState.failed, "KILLED": RunState.canceled}


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _number(value: float | None) -> float | str:
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _experiment(project: Project) -> dict[str, Any]:
    return {
        "experiment_id": project.id,
        "name": project.name,
        "artifact_location": "",
        "lifecycle_stage": "active",
        "creation_time": _ms(project.created_at),
        "last_update_time": _ms(project.created_at),
        "tags": [],
    }


def _project(session: SessionDep, user: User, experiment_id: str) -> Project:
    project = session.get(Project, experiment_id)
    if project is None:
        raise NotFound(
            f"no experiment {experiment_id!r}: MLflow experiments are Runyard projects; "
            "call mlflow.set_experiment('<project name>') first"
        )
    require_role(session, user, project.id, Role.viewer)
    return project


def _run_info(session: SessionDep, run: Run) -> dict[str, Any]:
    experiment = session.get(Experiment, run.experiment_id)
    return {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": experiment.name if experiment else "",
        "experiment_id": run.project_id,
        "user_id": run.owner_id,
        "status": _STATUS.get(RunState(run.state), "RUNNING"),
        "start_time": _ms(run.started_at),
        "end_time": _ms(run.finished_at),
        "artifact_uri": "",
        "lifecycle_stage": "active",
    }


def _run(session: SessionDep, run: Run) -> dict[str, Any]:
    series = session.scalars(select(MetricSeries).where(MetricSeries.run_id == run.id))
    metrics = [
        {"key": s.key, "value": _number(s.last_value), "step": s.last_step or 0, "timestamp": 0}
        for s in series
        if s.last_step is not None
    ]
    tags = (run.spec or {}).get("tags", {})
    return {
        "info": _run_info(session, run),
        "data": {
            "metrics": metrics,
            "params": [{"key": k, "value": str(v)} for k, v in run.params.items()],
            "tags": [{"key": k, "value": str(v)} for k, v in tags.items()],
        },
        "inputs": {},
    }


@router.get("/experiments/get-by-name")
def get_experiment_by_name(
    experiment_name: Annotated[str, Query(min_length=1, max_length=128)],
    user: CurrentUser,
    session: SessionDep,
) -> dict[str, Any]:
    return {"experiment": _experiment(project_by_name(session, user, experiment_name))}


@router.get("/experiments/get")
def get_experiment(
    experiment_id: Annotated[str, Query(min_length=1, max_length=36)],
    user: CurrentUser,
    session: SessionDep,
) -> dict[str, Any]:
    return {"experiment": _experiment(_project(session, user, experiment_id))}


@router.post("/experiments/create")
def create_experiment(
    body: schemas.CreateExperiment, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    """Creates the Runyard project of that name, with the caller as its admin."""
    try:
        created = create_project(session, user, ProjectCreate(name=body.name))
    except Conflict as exc:
        raise AlreadyExists(exc.detail) from exc
    except ValueError as exc:
        raise InvalidInput(
            f"experiment names are Runyard project names: letters, digits, '_', '.', '-' ({exc})"
        ) from exc
    return {"experiment_id": created.id}


@router.post("/runs/create")
def create_run(body: schemas.CreateRun, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    project = _project(session, user, body.experiment_id)
    tags = {t.key: t.value for t in body.tags}
    name = body.run_name or tags.get("mlflow.runName") or "mlflow-run"
    run = tracking.create_in_project(
        session,
        user,
        project,
        ExternalRunCreate(project=project.name, name=name[:128]),
        source="mlflow",
        tags=tags,
    )
    return {"run": _run(session, run)}


@router.get("/runs/get")
def get_run(
    user: CurrentUser,
    session: SessionDep,
    run_id: Annotated[str | None, Query(max_length=36)] = None,
    run_uuid: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, Any]:
    run = tracking.external_run_or_404(session, user, run_id or run_uuid or "")
    return {"run": _run(session, run)}


def _log(
    session: SessionDep,
    user: User,
    settings: SettingsDep,
    redis: RedisDep,
    run_id: str,
    metrics: list[schemas.MetricIn],
    params: dict[str, str],
) -> None:
    run = tracking.writable_external_run(session, user, run_id, lock=True)
    points = [
        ExternalPoint(key=m.key, step=m.step, value=m.value, wall_time=m.timestamp / 1000)
        for m in metrics
    ]
    tracking.store_batch(
        session,
        run,
        None,
        points,
        dict(params),
        RunLimits.from_settings(settings),
        tracking.Announce(redis, settings.redis_prefix),
    )


@router.post("/runs/log-metric")
def log_metric(
    body: schemas.LogMetric,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> dict[str, Any]:
    _log(session, user, settings, redis, body.id, [body], {})
    return {}


@router.post("/runs/log-parameter")
def log_parameter(
    body: schemas.LogParam,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> dict[str, Any]:
    _log(session, user, settings, redis, body.id, [], {body.key: body.value})
    return {}


@router.post("/runs/log-batch")
def log_batch(
    body: schemas.LogBatch,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> dict[str, Any]:
    if body.metrics or body.params:
        params = {p.key: p.value for p in body.params}
        _log(session, user, settings, redis, body.id, body.metrics, params)
    if body.tags:
        run = tracking.writable_external_run(session, user, body.id, lock=True)
        tracking.set_external_tags(session, run, {t.key: t.value for t in body.tags})
    return {}


@router.post("/runs/set-tag")
def set_tag(body: schemas.SetTag, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    run = tracking.writable_external_run(session, user, body.id, lock=True)
    tracking.set_external_tags(session, run, {body.key: body.value})
    return {}


@router.post("/runs/update")
def update_run(
    body: schemas.UpdateRun,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> dict[str, Any]:
    run = tracking.writable_external_run(session, user, body.id, lock=True)
    if body.run_name:
        experiment = session.get(Experiment, run.experiment_id)
        if experiment is not None:
            experiment.name = body.run_name[:128]
    ending = _ENDS.get(body.status or "")
    if ending is not None:
        tracking.finish_external_run(
            session,
            run,
            ending,
            f"ended by its MLflow client ({body.status})",
            tracking.Announce(redis, settings.redis_prefix),
        )
    session.commit()
    return {"run_info": _run_info(session, run)}


@router.get("/metrics/get-history")
def get_metric_history(
    metric_key: Annotated[str, Query(min_length=1, max_length=200)],
    user: CurrentUser,
    session: SessionDep,
    run_id: Annotated[str | None, Query(max_length=36)] = None,
    run_uuid: Annotated[str | None, Query(max_length=36)] = None,
) -> dict[str, Any]:
    """Every point of the series, in step order (MLflow pages only on Databricks)."""
    run = tracking.external_run_or_404(session, user, run_id or run_uuid or "")
    series = one_series(session, run.id, metric_key)
    if series is None:
        return {"metrics": []}
    metrics = [
        {
            "key": metric_key,
            "value": _number(float(value)),
            "timestamp": int(wall * 1000),
            "step": int(step),
        }
        for block in iter_blocks(session, series.id)
        for step, value, wall in zip(block.step, block.value, block.wall_time, strict=True)
    ]
    return {"metrics": metrics}
