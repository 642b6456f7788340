"""GET /api/v1/runs/{id}/events: Server-Sent Events of one run's logs, metrics and states."""

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.asyncio import Redis as AsyncRedis
from starlette.concurrency import run_in_threadpool

from runyard.schemas.streams import run_channel
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.error_responses import AUTH_ERRORS, NOT_FOUND
from server.live import feed
from server.live.cursor import Cursor, parse_cursor
from server.runs.repository import get_readable_run

router = APIRouter(tags=["live"], responses={**AUTH_ERRORS, **NOT_FOUND})

POLL_SECONDS = 2.0
"""Fallback poll when no notice arrives (a notice lost while reconnecting to Redis)."""
KEEPALIVE_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""

_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "an SSE stream"}
}


@router.get("/runs/{run_id}/events", responses=_SSE, response_class=StreamingResponse)
def follow_run(
    run_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=100)] = None,
    start: Annotated[
        Literal["beginning", "now"],
        Query(description="without Last-Event-ID: replay from the beginning, or only new data"),
    ] = "beginning",
) -> StreamingResponse:
    """New log lines (`log`), metric points (`metrics`) and state changes (`state`) of a run,
    as they are stored; `end` once the run has finished and everything was sent. Each message's
    `id` is a cursor: reconnect with it as `Last-Event-ID` to resume without gaps or repeats."""
    get_readable_run(session, user, run_id)
    cursor = parse_cursor(last_event_id)
    if last_event_id is None and start == "now":
        cursor = feed.current(session, run_id)
    session_factory = request.app.state.session_factory
    stream = _events(
        request, session_factory, settings.redis_url, settings.redis_prefix, run_id, cursor
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _fetch(session_factory, run_id: str, cursor: Cursor) -> feed.Update:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return feed.since(session, run_id, cursor)


async def _events(
    request: Request,
    session_factory,  # type: ignore[no-untyped-def]
    redis_url: str,
    prefix: str,
    run_id: str,
    cursor: Cursor,
) -> AsyncIterator[str]:
    redis = AsyncRedis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    # Subscribe before the first read, so a notice for rows stored in between is not missed.
    await pubsub.subscribe(run_channel(run_id, prefix))
    last_sent = time.monotonic()
    try:
        yield "retry: 2000\n\n"
        while True:
            update = await run_in_threadpool(_fetch, session_factory, run_id, cursor)
            for message in update.messages:
                cursor = message.cursor
                yield _format(message)
                last_sent = time.monotonic()
            if update.terminal and not update.messages:
                yield f"event: end\nid: {cursor}\ndata: {{}}\n\n"
                return
            if update.messages:
                continue  # more may be waiting beyond this batch's limits
            if await request.is_disconnected():
                return
            await pubsub.get_message(timeout=POLL_SECONDS)
            if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
    finally:
        await pubsub.aclose()
        await redis.aclose()


def _format(message: feed.Message) -> str:
    data = json.dumps(message.data, separators=(",", ":"))
    return f"event: {message.event}\nid: {message.cursor}\ndata: {data}\n\n"
