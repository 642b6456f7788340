"""Serving the dashboard build at `/`. Whether there is a build is looked up at each request,
so a dashboard built after the server started is served at once, without a restart."""

from pathlib import Path

from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DASHBOARD_NOT_BUILT = (
    "Runyard API is running; the web dashboard is not built.\n"
    "Build it with: cd web && npm ci && npm run build (this server serves it once it exists).\n"
    "The API is under /api/v1 (documentation at /docs).\n"
)


class Dashboard:
    """ASGI app mounted at `/` after every API route: the build's files, or a note saying how
    to build it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # check_dir=False: the folder may not exist yet; it is looked at per request.
        self.files = StaticFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (self.directory / "index.html").is_file():
            if scope.get("path", "/") in ("", "/"):
                await PlainTextResponse(DASHBOARD_NOT_BUILT)(scope, receive, send)
            else:
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.files(scope, receive, send)
