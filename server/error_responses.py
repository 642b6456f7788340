"""OpenAPI descriptions of the error statuses, so clients (and schemathesis) know their shape."""

from typing import Any

from pydantic import BaseModel


class ErrorPublic(BaseModel):
    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("missing, malformed, revoked or expired token"),
    403: _error("authenticated, but not allowed"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("no such resource visible to you")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _error("conflicts with the current state")}
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: _error("the request body is too large")}
