"""The server's exception tree. `app.py` maps each family to one HTTP status, in one place."""


class RunyardServerError(Exception):
    """Base of every error the API reports to the caller. The message says what to do next."""

    status_code = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidInput(RunyardServerError):
    status_code = 422

    def __init__(self, detail: str, *, loc: list[str | int] | None = None) -> None:
        super().__init__(detail)
        self.loc = loc or []


class Unauthorized(RunyardServerError):
    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(RunyardServerError):
    status_code = 403


class NotFound(RunyardServerError):
    status_code = 404


class Conflict(RunyardServerError):
    status_code = 409


class PayloadTooLarge(RunyardServerError):
    status_code = 413


class UnsupportedMediaType(RunyardServerError):
    status_code = 415
