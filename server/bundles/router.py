from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.attempts.access import require_attempt
from server.bundles.storage import bundle_path
from server.deps import SessionDep, SettingsDep, WorkerPrincipal
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.errors import NotFound
from server.experiments.models import Experiment

router = APIRouter(tags=["worker"], responses=AUTH_ERRORS)


@router.get(
    "/worker/runs/{run_id}/bundle",
    response_class=FileResponse,
    responses={
        **NOT_FOUND,
        200: {
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the run's code bundle; its sha256 is in the X-Checksum-Sha256 header",
        },
    },
)
def download_bundle(
    run_id: str, principal: WorkerPrincipal, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """For the worker holding the run's current attempt: the code bundle submitted with the
    run's experiment."""
    run = require_attempt(session, principal, run_id)
    experiment = session.get(Experiment, run.experiment_id)
    if experiment is None or experiment.bundle_sha256 is None:
        raise NotFound("this run's experiment has no code bundle; its code must be installed")
    path = bundle_path(settings.artifacts, experiment.bundle_sha256)
    if not path.is_file():
        raise NotFound("the bundle file is missing from the artifact store; resubmit")
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{experiment.name}-bundle.tar.gz",
        headers={"X-Checksum-Sha256": experiment.bundle_sha256},
    )
