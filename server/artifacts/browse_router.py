"""The run page's file browser: list a run's artifact folder, download or preview one file.
Readable by whoever may read the run (project members, admins); others get 404."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from server.artifacts import browse
from server.artifacts.schemas import ArtifactTree
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.errors import UnsupportedMediaType
from server.runs.repository import get_readable_run

router = APIRouter(tags=["artifacts"], responses={**AUTH_ERRORS, **NOT_FOUND})

_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file"}
}


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(
    run_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ArtifactTree:
    """Every directory and file the run stored (checkpoints, exports, TensorBoard events and
    anything else under its folder), with sizes, modified times and whether it previews."""
    get_readable_run(session, user, run_id)
    folder = browse.run_folder(settings.artifacts, run_id)
    return ArtifactTree(run_id=run_id, entries=browse.list_tree(folder))


@router.get("/runs/{run_id}/artifacts/files/{path:path}", responses=_FILE)
def artifact_file(
    run_id: str,
    path: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    preview: Annotated[
        bool, Query(description="inline, for a small text or image file; else an attachment")
    ] = False,
) -> FileResponse:
    """One file of the run's folder. With `preview=true` it is sent inline with its media type
    (only small text, JSON, YAML, CSV and image files: 415 otherwise)."""
    get_readable_run(session, user, run_id)
    target = browse.resolve(browse.run_folder(settings.artifacts, run_id), path)
    if not preview:
        return FileResponse(target, media_type="application/octet-stream", filename=target.name)
    if browse.preview_kind(target.name, target.stat().st_size) is None:
        raise UnsupportedMediaType(
            f"{target.name} is too large or not a text or image file to preview; download it"
        )
    return FileResponse(
        target,
        media_type=browse.media_type(target),
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )
