"""GET /api/v1/runs/{id}/events: Server-Sent Events of one run's logs, metrics and states.

The framing (ids, `retry`, keep-alive pings, disconnect handling) is sse-starlette's; this
module decides what to send and when: whatever SQL holds past the client's cursor, re-read
whenever the ingester announces new rows for the run."""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from redis.asyncio import Redis as AsyncRedis
from sse_starlette import EventSourceResponse, ServerSentEvent
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
KEEPALIVE_SECONDS = 15
"""A comment line this often keeps proxies from closing an idle stream."""
RETRY_MS = 2000
"""How long a browser's EventSource waits before reconnecting after a drop."""

_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "an SSE stream"}
}


@router.get("/runs/{run_id}/events", responses=_SSE, response_class=EventSourceResponse)
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
) -> EventSourceResponse:
    """New log lines (`log`), metric points (`metrics`) and state changes (`state`) of a run,
    as they are stored, after an `open` message naming the starting cursor; `end` once the run has finished and everything was sent. Each message's
    `id` is a cursor: reconnect with it as `Last-Event-ID` to resume without gaps or repeats.
    A cursor this stream never gave out is refused with 422 (start again without one)."""
    get_readable_run(session, user, run_id)
    cursor = parse_cursor(last_event_id)
    if last_event_id is None and start == "now":
        cursor = feed.current(session, run_id)
    session_factory = request.app.state.session_factory
    stream = _events(session_factory, settings.redis_url, settings.redis_prefix, run_id, cursor)
    return EventSourceResponse(
        stream, ping=KEEPALIVE_SECONDS, headers={"Cache-Control": "no-cache"}
    )


def _fetch(session_factory, run_id: str, cursor: Cursor) -> feed.Update:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return feed.since(session, run_id, cursor)


async def _events(
    session_factory,  # type: ignore[no-untyped-def]
    redis_url: str,
    prefix: str,
    run_id: str,
    cursor: Cursor,
) -> AsyncIterator[ServerSentEvent]:
    """sse-starlette cancels this generator when the client goes away, so the loop only
    waits for notices; the `finally` closes the Redis connection either way."""
    redis = AsyncRedis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    # Subscribe before the first read, so a notice for rows stored in between is not missed.
    await pubsub.subscribe(run_channel(run_id, prefix))
    try:
        # `open` names the cursor the stream starts from, so a client that loaded a snapshot
        # after it opened can resume from here even before any data arrived.
        yield ServerSentEvent(
            data=json.dumps({"cursor": str(cursor)}), event="open", id=str(cursor), retry=RETRY_MS
        )
        while True:
            update = await run_in_threadpool(_fetch, session_factory, run_id, cursor)
            for message in update.messages:
                cursor = message.cursor
                yield _event(message.event, message.data, cursor)
            if update.terminal and not update.messages:
                yield _event("end", {}, cursor)
                return
            if update.messages:
                continue  # more may be waiting beyond this batch's limits
            await pubsub.get_message(timeout=POLL_SECONDS)
    finally:
        await pubsub.aclose()
        await redis.aclose()


def _event(name: str, data: dict[str, Any], cursor: Cursor) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, separators=(",", ":")), event=name, id=str(cursor))
