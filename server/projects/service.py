"""Projects and membership. Authorization is a query: a project you are not in does not exist
for you (404), a role below what is needed is 403."""

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import Conflict, Forbidden, NotFound
from server.projects.models import Project, ProjectMember, Role
from server.projects.schemas import MemberAdd, MemberPublic, ProjectCreate, ProjectPublic
from server.users.models import User
from server.users.service import find_user

PROJECT_NOT_FOUND = "no such project among yours; list yours with GET /api/v1/projects"


def readable_project_ids(user: User) -> Select[str]:
    if user.is_admin:
        return select(Project.id)
    return select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)


def role_in(session: Session, user: User, project_id: str) -> Role | None:
    if user.is_admin:
        exists = session.get(Project, project_id) is not None
        return Role.admin if exists else None
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user.id
        )
    )
    return Role(role) if role else None


def require_role(session: Session, user: User, project_id: str, at_least: Role) -> Role:
    """The caller's role in the project; NotFound if they are not in it, Forbidden if the role
    is below `at_least`. A global administrator passes every check."""
    role = role_in(session, user, project_id)
    if role is None:
        raise NotFound(PROJECT_NOT_FOUND)
    if role.rank < at_least.rank:
        raise Forbidden(
            f"your role in this project is {role.value}; this needs {at_least.value} or above. "
            "Ask a project admin."
        )
    return role


def project_by_name(session: Session, user: User, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None or role_in(session, user, project.id) is None:
        raise NotFound(
            f"no project named {name!r} among yours; create it with POST /api/v1/projects "
            "or ask its admin to add you"
        )
    return project


def _public(project: Project, role: Role) -> ProjectPublic:
    return ProjectPublic(
        id=project.id,
        name=project.name,
        description=project.description,
        created_at=project.created_at,
        role=role,
    )


def create_project(session: Session, user: User, data: ProjectCreate) -> ProjectPublic:
    if session.scalar(select(Project.id).where(Project.name == data.name)) is not None:
        raise Conflict(f"a project named {data.name!r} exists already; pick another name")
    project = Project(
        name=data.name, description=data.description, created_by=user.id, created_at=utcnow()
    )
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.admin.value))
    session.commit()
    return _public(project, Role.admin)


def list_projects(session: Session, user: User) -> list[ProjectPublic]:
    projects = session.scalars(
        select(Project).where(Project.id.in_(readable_project_ids(user))).order_by(Project.name)
    ).all()
    return [_public(p, role_in(session, user, p.id) or Role.viewer) for p in projects]


def get_project(session: Session, user: User, project_id: str) -> ProjectPublic:
    role = require_role(session, user, project_id, Role.viewer)
    project = session.get(Project, project_id)
    assert project is not None
    return _public(project, role)


def list_members(session: Session, user: User, project_id: str) -> list[MemberPublic]:
    require_role(session, user, project_id, Role.viewer)
    rows = session.execute(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(User.email)
    ).all()
    return [
        MemberPublic(user_id=u.id, email=u.email, name=u.name, role=Role(m.role)) for m, u in rows
    ]


def _admin_count(session: Session, project_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.admin.value)
        )
        or 0
    )


def set_member(session: Session, user: User, project_id: str, data: MemberAdd) -> MemberPublic:
    require_role(session, user, project_id, Role.admin)
    target = find_user(session, user_id=data.user_id, email=data.email)
    member = session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == target.id
        )
    )
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=target.id, role=data.role.value)
        session.add(member)
    else:
        if member.role == Role.admin.value and data.role != Role.admin:
            _keep_an_admin(session, project_id)
        member.role = data.role.value
    session.commit()
    return MemberPublic(user_id=target.id, email=target.email, name=target.name, role=data.role)


def remove_member(session: Session, user: User, project_id: str, user_id: str) -> None:
    require_role(session, user, project_id, Role.admin)
    member = session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    if member is None:
        raise NotFound("that user is not a member of this project")
    if member.role == Role.admin.value:
        _keep_an_admin(session, project_id)
    session.delete(member)
    session.commit()


def _keep_an_admin(session: Session, project_id: str) -> None:
    if _admin_count(session, project_id) <= 1:
        raise Conflict("a project needs at least one admin; promote another member first")
