"""The TensorBoard event files of a run, as one tar.gz in the artifact store (the latest
attempt's). Checked like a code bundle (safe members, size limits) before it is kept."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from server.artifacts import storage
from server.attempts.access import require_attempt
from server.bundles.inspection import BundleLimits, inspect_bundle
from server.deps import CurrentUser, SessionDep, SettingsDep, WorkerPrincipal
from server.error_responses import AUTH_ERRORS, NOT_FOUND, TOO_LARGE
from server.errors import NotFound
from server.experiments.models import Experiment
from server.runs.repository import get_readable_run

router = APIRouter(tags=["artifacts"], responses={**AUTH_ERRORS, **NOT_FOUND})

NO_EVENTS = (
    "this run has no TensorBoard event files (yet): its worker stores them when the run ends"
)


class TensorBoardPublic(BaseModel):
    run_id: str
    attempt: int
    size: int
    sha256: str


Sha256Header = Annotated[
    str | None,
    Header(alias="X-Content-SHA256", pattern="^[0-9a-fA-F]{64}$", description="sha256, hex"),
]


def storage_path(run_id: str) -> str:
    return f"runs/{run_id}/tensorboard/events.tar.gz"


@router.post("/worker/runs/{run_id}/tensorboard", responses=TOO_LARGE)
def upload_tensorboard(
    run_id: str,
    principal: WorkerPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the run's TensorBoard folder, a .tar.gz")],
    attempt: Annotated[int, Form(ge=1, le=10_000)],
    fence: Annotated[
        int | None, Form(ge=1, description="the uploading attempt's fencing number")
    ] = None,
    x_content_sha256: Sha256Header = None,
) -> TensorBoardPublic:
    """Replaces the run's event files with this attempt's (its holder only; 409 once the
    attempt was superseded)."""
    require_attempt(session, principal, run_id, fence=fence)
    upload_path = f"runs/{run_id}/tensorboard/.incoming-{attempt}.tar.gz"
    stored = storage.receive(
        file.file, settings.artifacts, upload_path, x_content_sha256, settings.max_upload_bytes
    )
    try:
        inspect_bundle(
            settings.artifacts / upload_path,
            BundleLimits(settings.max_bundle_members, settings.max_bundle_unpacked_bytes),
        )
    except BaseException:
        storage.remove(settings.artifacts, upload_path)
        raise
    (settings.artifacts / upload_path).replace(settings.artifacts / storage_path(run_id))
    return TensorBoardPublic(run_id=run_id, attempt=attempt, size=stored.size, sha256=stored.sha256)


_ARCHIVE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/gzip": {}}, "description": "the event files, a .tar.gz"}
}


@router.get("/runs/{run_id}/tensorboard", responses=_ARCHIVE, response_class=FileResponse)
def download_tensorboard(
    run_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The run's TensorBoard event files (`runyard tensorboard RUN` opens them)."""
    run = get_readable_run(session, user, run_id)
    path = settings.artifacts / storage_path(run.id)
    if not path.is_file():
        raise NotFound(NO_EVENTS)
    experiment = session.get(Experiment, run.experiment_id)
    name = f"{experiment.name if experiment else 'run'}-{run.id[:8]}-tensorboard.tar.gz"
    return FileResponse(path, media_type="application/gzip", filename=name)
