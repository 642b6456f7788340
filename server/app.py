"""The FastAPI application: routers, lifespan (engine, sessions, Redis) and error mapping."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, ExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis import Redis
from sqlalchemy.exc import DataError, IntegrityError

from runyard.schemas.spec import ExperimentSpec
from server.artifacts.browse_router import router as artifact_files_router
from server.artifacts.router import router as artifacts_router
from server.attempts.presence import presence_beacon
from server.attempts.router import router as attempts_router
from server.bundles.router import router as bundles_router
from server.cluster.router import router as cluster_router
from server.dashboard import Dashboard
from server.db import make_engine, make_session_factory
from server.errors import InvalidInput, RunyardServerError
from server.experiments.router import router as experiments_router
from server.health.router import router as health_router
from server.ingest.service import ingester_in_process
from server.limits import BodySizeLimit
from server.live.router import router as live_router
from server.logs.router import router as logs_router
from server.metrics.router import router as metrics_router
from server.mlflow_api.errors import is_mlflow_request, mlflow_error
from server.mlflow_api.router import router as mlflow_router
from server.observability import install_observability
from server.observability.router import router as observability_router
from server.operation_ids import operation_id
from server.projects.router import router as projects_router
from server.runs.router import router as runs_router
from server.settings import Settings
from server.tensorboard.router import router as tensorboard_router
from server.text_checks import refuse_unstorable_text
from server.tracking.router import router as tracking_router
from server.users.router import router as users_router
from server.workers.router import router as workers_router

API_PREFIX = "/api/v1"

# (router, prefix). Each slice adds one line.
ROUTERS: tuple[tuple[APIRouter, str], ...] = (
    (health_router, ""),
    (users_router, API_PREFIX),
    (projects_router, API_PREFIX),
    (experiments_router, API_PREFIX),
    (runs_router, API_PREFIX),
    (bundles_router, API_PREFIX),
    (attempts_router, API_PREFIX),
    (metrics_router, API_PREFIX),
    (logs_router, API_PREFIX),
    (workers_router, API_PREFIX),
    (cluster_router, API_PREFIX),
    (artifacts_router, API_PREFIX),
    (artifact_files_router, API_PREFIX),
    (live_router, API_PREFIX),
    (tensorboard_router, API_PREFIX),
    (tracking_router, API_PREFIX),
    (mlflow_router, ""),
    (observability_router, ""),
)

# Models a route documents by hand (a raw request body) rather than through its signature.
EXTRA_SCHEMAS: tuple[type[BaseModel], ...] = (ExperimentSpec,)

# Context managers entered for the app's lifetime (e.g. a background consumer), given the app
# after its engine, session factory and Redis client exist. Each slice adds one line.
BACKGROUND_SERVICES: tuple[Callable[[FastAPI], AbstractContextManager[object]], ...] = (
    ingester_in_process,
    presence_beacon,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        redis = Redis.from_url(settings.redis_url)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.redis = redis
        try:
            with ExitStack() as stack:
                for service in BACKGROUND_SERVICES:
                    stack.enter_context(service(app))
                yield
        finally:
            redis.close()
            engine.dispose()

    app = FastAPI(
        title="Runyard",
        version="1",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(refuse_unstorable_text)],
    )
    app.state.settings = settings
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)
    _add_error_handlers(app)
    _add_extra_schemas(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    install_observability(app)
    _add_dashboard(app, settings)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def runyard_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RunyardServerError)
        if is_mlflow_request(request):
            return mlflow_error(exc)
        if isinstance(exc, InvalidInput):
            # Same shape as FastAPI's own validation errors, so clients parse one format.
            body: object = [{"loc": exc.loc, "msg": exc.detail, "type": "value_error"}]
        else:
            body = exc.detail
        return JSONResponse({"detail": body}, status_code=exc.status_code, headers=exc.headers)

    async def unstorable_value(_request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value validation let through (a NUL character in text, a
        # number out of the column's range): the caller's input, so 422, not 500.
        message = "a value cannot be stored: text must not contain NUL characters and numbers must fit their field"
        return JSONResponse(
            {"detail": [{"loc": ["request"], "msg": message, "type": "value_error"}]},
            status_code=422,
        )

    async def lost_race(_request: Request, exc: Exception) -> JSONResponse:
        # A uniqueness check passed, then a concurrent request took the name first.
        return JSONResponse(
            {"detail": "conflicts with a record created at the same time; retry"},
            status_code=409,
        )

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        if is_mlflow_request(request):
            return mlflow_error(exc)
        assert isinstance(exc, RequestValidationError)
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(RunyardServerError, runyard_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DataError, unstorable_value)
    app.add_exception_handler(IntegrityError, lost_race)


def _add_extra_schemas(app: FastAPI) -> None:
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default_openapi()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in EXTRA_SCHEMAS:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, definition)
                schemas.setdefault(model.__name__, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_dashboard(app: FastAPI, settings: Settings) -> None:
    app.mount("/", Dashboard(settings.web_dist), name="dashboard")
