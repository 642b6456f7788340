"""Worker-facing uploads and user-facing listing and download of checkpoints and exports."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import FileResponse

from server.artifacts import service
from server.artifacts.schemas import CheckpointPublic, ExportPublic
from server.attempts.access import require_attempt
from server.deps import CurrentUser, SessionDep, SettingsDep, WorkerPrincipal, get_principal
from server.error_responses import AUTH_ERRORS, NOT_FOUND, TOO_LARGE
from server.errors import NotFound
from server.experiments.models import Experiment
from server.principals import Principal
from server.runs.models import Run
from server.runs.repository import get_readable_run

router = APIRouter(tags=["artifacts"], responses={**AUTH_ERRORS, **NOT_FOUND})

AnyPrincipal = Annotated[Principal, Depends(get_principal)]
Sha256Header = Annotated[
    str | None,
    Header(
        alias="X-Content-SHA256",
        pattern="^[0-9a-fA-F]{64}$",
        description="sha256 of the file, hex; verified while the upload streams to disk",
    ),
]


FenceForm = Annotated[
    int | None,
    Form(ge=1, description="the uploading attempt's fencing number; refused (409) once superseded"),
]


@router.post("/worker/runs/{run_id}/checkpoints", responses=TOO_LARGE)
def upload_checkpoint(
    run_id: str,
    principal: WorkerPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the checkpoint file")],
    attempt: Annotated[int, Form(ge=1, le=10_000)],
    epoch: Annotated[int, Form(ge=0, le=2**31 - 1)],
    step: Annotated[int, Form(ge=0, le=2**62)],
    metrics: Annotated[str, Form(max_length=100_000, description="JSON object")] = "{}",
    fence: FenceForm = None,
    x_content_sha256: Sha256Header = None,
) -> CheckpointPublic:
    """Stores a checkpoint, then applies the run's retention policy (top-k by the monitored
    metric, plus the last); files that fall out are deleted. Only the worker holding the run's
    current attempt (or that attempt's run token) may upload."""
    run = require_attempt(session, principal, run_id, fence=fence)
    return service.store_checkpoint(
        session,
        settings.artifacts,
        run,
        file.file,
        attempt=attempt,
        epoch=epoch,
        step=step,
        metrics=service.parse_metrics(metrics),
        expected_sha256=x_content_sha256,
        max_bytes=settings.max_upload_bytes,
    )


@router.post("/worker/runs/{run_id}/exports", responses=TOO_LARGE)
def upload_export(
    run_id: str,
    principal: WorkerPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the exported model file")],
    format: Annotated[str, Form(max_length=32, description="torchscript or onnx")],
    input_signature: Annotated[str, Form(max_length=100_000, description="JSON object")] = "{}",
    max_abs_diff: Annotated[
        float | None, Form(description="largest difference to the eager model on a sample")
    ] = None,
    fence: FenceForm = None,
    x_content_sha256: Sha256Header = None,
) -> ExportPublic:
    """Stores an exported model. It counts as verified when the worker reports how far its
    outputs were from the eager model's."""
    run = require_attempt(session, principal, run_id, fence=fence)
    signature = service.parse_json_field(input_signature, "input_signature")
    if not isinstance(signature, dict):
        signature = {"inputs": signature}
    return service.store_export(
        session,
        settings.artifacts,
        run,
        file.file,
        export_format=format,
        input_signature=signature,
        verified=max_abs_diff is not None,
        expected_sha256=x_content_sha256,
        max_bytes=settings.max_upload_bytes,
    )


@router.get("/runs/{run_id}/checkpoints")
def list_checkpoints(run_id: str, user: CurrentUser, session: SessionDep) -> list[CheckpointPublic]:
    get_readable_run(session, user, run_id)
    return service.list_checkpoints(session, run_id)


@router.get("/runs/{run_id}/exports")
def list_exports(run_id: str, user: CurrentUser, session: SessionDep) -> list[ExportPublic]:
    get_readable_run(session, user, run_id)
    return service.list_exports(session, run_id)


def _may_read(session: SessionDep, principal: Principal, run_id: str, missing: str) -> None:
    """Users read runs of their projects; a worker reads a run's files only while it holds the
    run's current attempt (to resume it), and a run token only while its attempt runs.
    Anything else looks like it does not exist."""
    if principal.kind == "user" and principal.user is not None:
        try:
            get_readable_run(session, principal.user, run_id)
        except NotFound:
            raise NotFound(missing) from None
    elif principal.kind == "run" and principal.run_id != run_id:
        raise NotFound(missing)
    else:
        require_attempt(session, principal, run_id)


def _run_label(session: SessionDep, run_id: str) -> str:
    """`<experiment name>-<short run id>`: what a downloaded file is called, so files of
    several runs can sit in one folder and say where they came from."""
    run = session.get(Run, run_id)
    experiment = session.get(Experiment, run.experiment_id) if run else None
    return f"{experiment.name if experiment else 'run'}-{run_id[:8]}"


def _file_response(
    settings: SettingsDep, storage_path: str, sha256: str, filename: str
) -> FileResponse:
    path = settings.artifacts / storage_path
    if not path.is_file():
        raise NotFound("the file is missing from the artifact store; ask an admin to check it")
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=filename,
        headers={"X-Content-SHA256": sha256},
    )


_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file"}
}


@router.get("/checkpoints/{checkpoint_id}/download", responses=_DOWNLOAD)
def download_checkpoint(
    checkpoint_id: str, principal: AnyPrincipal, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The checkpoint file, streamed, with Content-Length and X-Content-SHA256."""
    checkpoint = service.get_checkpoint(session, checkpoint_id)
    _may_read(session, principal, checkpoint.run_id, service.CHECKPOINT_NOT_FOUND)
    name = (
        f"{_run_label(session, checkpoint.run_id)}-epoch={checkpoint.epoch}-step={checkpoint.step}"
    )
    return _file_response(settings, checkpoint.storage_path, checkpoint.sha256, f"{name}.ckpt")


@router.get("/exports/{export_id}/download", responses=_DOWNLOAD)
def download_export(
    export_id: str, principal: AnyPrincipal, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The exported model file, streamed, with Content-Length and X-Content-SHA256."""
    export = service.get_export(session, export_id)
    _may_read(session, principal, export.run_id, service.EXPORT_NOT_FOUND)
    suffix = service.EXPORT_SUFFIX.get(export.format, "")
    name = f"{_run_label(session, export.run_id)}-{export.format}{suffix}"
    return _file_response(settings, export.storage_path, export.sha256, name)
