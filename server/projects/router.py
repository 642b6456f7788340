from fastapi import APIRouter, status

from server.deps import CurrentUser, SessionDep
from server.error_responses import AUTH_ERRORS, CONFLICT, NOT_FOUND
from server.projects import service
from server.projects.schemas import MemberAdd, MemberPublic, ProjectCreate, ProjectPublic

router = APIRouter(tags=["projects"], responses=AUTH_ERRORS)


@router.post("/projects", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectPublic:
    """Any user may create a project; its creator becomes its admin."""
    return service.create_project(session, user, body)


@router.get("/projects")
def list_projects(user: CurrentUser, session: SessionDep) -> list[ProjectPublic]:
    return service.list_projects(session, user)


@router.get("/projects/{project_id}", responses=NOT_FOUND)
def get_project(project_id: str, user: CurrentUser, session: SessionDep) -> ProjectPublic:
    return service.get_project(session, user, project_id)


@router.get("/projects/{project_id}/members", responses=NOT_FOUND)
def list_members(project_id: str, user: CurrentUser, session: SessionDep) -> list[MemberPublic]:
    return service.list_members(session, user, project_id)


@router.post("/projects/{project_id}/members", responses={**NOT_FOUND, **CONFLICT})
def set_member(
    project_id: str, body: MemberAdd, user: CurrentUser, session: SessionDep
) -> MemberPublic:
    """Project admins only: add a user, or change a member's role."""
    return service.set_member(session, user, project_id, body)


@router.delete(
    "/projects/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
)
def remove_member(project_id: str, user_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.remove_member(session, user, project_id, user_id)
