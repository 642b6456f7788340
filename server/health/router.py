from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.deps import SessionDep

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    database: str


@router.get(
    "/healthz",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "the database is unreachable"}},
)
def healthz(session: SessionDep) -> HealthPublic | JSONResponse:
    """No authentication: load balancers and `docker compose` probe it."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return HealthPublic(status="ok", database="ok")
