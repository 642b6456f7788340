"""GET /metrics in Prometheus' text format. Readable with a user or worker token, or with the
scrape token RUNYARD_METRICS_TOKEN, which reads this route and nothing else."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from runyard.schemas.streams import INGEST_GROUP, events_stream
from server.deps import RedisDep, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS
from server.errors import Forbidden
from server.ingest.consumer import dead_letter_counts_key
from server.observability.instruments import Instruments
from server.principals import authenticate
from server.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="a Runyard token, or the metrics scrape token")


def _is_scrape_token(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    given = credentials.credentials if credentials else None
    return bool(expected and given and hmac.compare_digest(expected.encode(), given.encode()))


router = APIRouter(tags=["observability"], responses=AUTH_ERRORS)

_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}
}


@router.get("/metrics", responses=_TEXT, response_class=Response)
def prometheus_metrics(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> Response:
    """Request counts and latency, events ingested by this process, the ingest lag, runs by
    state, the queue by project, used/free slots per worker, and the events every ingester
    dead-lettered, by kind (misattributed: not from the worker holding the attempt)."""
    if not _is_scrape_token(settings, credentials):
        principal = authenticate(session, credentials.credentials if credentials else None)
        if principal.kind == "run":
            raise Forbidden("metrics need a user or worker token, not a run-scoped token")
    instruments: Instruments = request.app.state.instruments
    try:
        groups = redis.xinfo_groups(events_stream(settings.redis_prefix))
    except RedisError:
        groups = []  # no stream yet (or Redis away): report nothing rather than fail a scrape
    for group in groups:
        if group["name"] in (INGEST_GROUP, INGEST_GROUP.encode()):
            instruments.ingest_lag.set(group.get("lag") or 0)
            instruments.ingest_pending.set(group.get("pending") or 0)
    try:
        counts = redis.hgetall(dead_letter_counts_key(settings.redis_prefix))
    except RedisError:
        counts = {}
    for kind, count in counts.items():
        name = kind.decode() if isinstance(kind, bytes) else str(kind)
        instruments.dead_letters.labels(kind=name).set(int(count))
    return Response(generate_latest(instruments.registry), media_type=CONTENT_TYPE_LATEST)
