"""MLflow's error format: `{"error_code": ..., "message": ...}` with a 4xx status, which the
mlflow client turns into an MlflowException carrying that code (it returns None from
get_experiment_by_name on RESOURCE_DOES_NOT_EXIST, for instance)."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RunyardServerError,
    Unauthorized,
)

MLFLOW_PREFIX = "/api/2.0/mlflow"

_CODES: dict[type[RunyardServerError], tuple[str, int]] = {
    NotFound: ("RESOURCE_DOES_NOT_EXIST", 404),
    Conflict: ("INVALID_STATE", 400),
    Unauthorized: ("UNAUTHENTICATED", 401),
    Forbidden: ("PERMISSION_DENIED", 403),
    InvalidInput: ("INVALID_PARAMETER_VALUE", 400),
}


class AlreadyExists(Conflict):
    """MLflow's RESOURCE_ALREADY_EXISTS."""


def is_mlflow_request(request: Request) -> bool:
    return request.url.path.startswith(MLFLOW_PREFIX)


def mlflow_error(exc: Exception) -> JSONResponse:
    if isinstance(exc, AlreadyExists):
        code, status = "RESOURCE_ALREADY_EXISTS", 400
    elif isinstance(exc, RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _reply("INVALID_PARAMETER_VALUE", 400, problems or "invalid request")
    else:
        code, status = next(
            (found for kind, found in _CODES.items() if isinstance(exc, kind)),
            ("BAD_REQUEST", 400),
        )
    detail = exc.detail if isinstance(exc, RunyardServerError) else str(exc)
    return _reply(code, status, detail)


def _reply(code: str, status: int, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)
