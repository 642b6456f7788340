"""GET /api/v1/runs/{id}/events over a real HTTP server: the live feed end to end (Redis stream
-> in-process ingester -> SQL -> notice -> SSE), resume by Last-Event-ID, access."""

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx_sse import connect_sse
from redis import Redis

from runyard.schemas.events import StateEvent
from runyard.schemas.states import RunState
from server.live import router as live_router
from server.runs.models import Run
from tests.server.ingest_helpers import attributed, log_event, metrics_event, publish
from tests.worker.polling import wait_for

pytestmark = pytest.mark.slow


@dataclass
class Message:
    event: str
    id: str | None
    data: dict


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def owner(make_user: Callable) -> tuple:
    return make_user()


@pytest.fixture
def run(owner: tuple, make_project: Callable, make_run: Callable) -> Run:
    return make_run(make_project(owner[0]), owner[0], state=RunState.running)


@pytest.fixture
def redis() -> Iterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    client.close()


def _follow(
    base_url: str,
    run_id: str,
    token: str,
    until: Callable[[list[Message]], bool],
    last_event_id: str | None = None,
    params: dict[str, str] | None = None,
) -> list[Message]:
    """Reads SSE messages (parsed by httpx-sse, as the client does) until `until(messages)`
    holds or the stream ends."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    messages: list[Message] = []
    url = f"{base_url}/api/v1/runs/{run_id}/events"
    with (
        httpx.Client(timeout=30) as http,
        connect_sse(http, "GET", url, headers=headers, params=params) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for sse in source.iter_sse():
            messages.append(Message(sse.event, sse.id or None, json.loads(sse.data)))
            if until(messages) or sse.event == "end":
                break
    return messages


def _lines(messages: list[Message]) -> list[str]:
    return [line["text"] for m in messages if m.event == "log" for line in m.data["lines"]]


def _steps(messages: list[Message]) -> list[int]:
    return [p["step"] for m in messages if m.event == "metrics" for p in m.data["points"]]


def _ended(messages: list[Message]) -> bool:
    return any(m.event == "end" for m in messages)


def test_follows_logs_metrics_and_state_until_the_run_ends(
    base_url: str, run: Run, owner: tuple, redis: Redis, redis_prefix: str
) -> None:
    now = datetime.now(UTC)
    publish(
        redis,
        redis_prefix,
        log_event(run, 0, ["starting", "epoch 0"]),
        metrics_event(run, 1, range(0, 50)),
        StateEvent(**attributed(run, 1), seq=2, ts=now, state=RunState.completed),
    )
    messages = _follow(base_url, run.id, owner[1], _ended)
    assert _lines(messages) == ["starting", "epoch 0"]
    assert _steps(messages) == list(range(50))
    states = [m.data["to_state"] for m in messages if m.event == "state"]
    assert states == ["completed"]
    assert messages[-1].event == "end"


def test_reconnecting_with_last_event_id_loses_and_repeats_nothing(
    base_url: str, run: Run, owner: tuple, redis: Redis, redis_prefix: str
) -> None:
    publish(
        redis,
        redis_prefix,
        log_event(run, 0, ["one", "two"]),
        metrics_event(run, 1, range(10)),
    )
    first = _follow(
        base_url, run.id, owner[1], lambda ms: len(_lines(ms)) == 2 and len(_steps(ms)) == 10
    )
    publish(
        redis,
        redis_prefix,
        log_event(run, 2, ["three"]),
        metrics_event(run, 3, range(10, 20)),
        StateEvent(**attributed(run, 1), seq=4, ts=datetime.now(UTC), state=RunState.failed),
    )
    rest = _follow(base_url, run.id, owner[1], _ended, last_event_id=first[-1].id)
    assert _lines(first) + _lines(rest) == ["one", "two", "three"]
    assert _steps(first) + _steps(rest) == list(range(20))
    assert [m.data["to_state"] for m in rest if m.event == "state"] == ["failed"]


def test_a_finished_run_replays_everything_then_ends(
    base_url: str, run: Run, owner: tuple, redis: Redis, redis_prefix: str
) -> None:
    publish(
        redis,
        redis_prefix,
        log_event(run, 0, ["only line"]),
        StateEvent(**attributed(run, 1), seq=1, ts=datetime.now(UTC), state=RunState.canceled),
    )
    _follow(base_url, run.id, owner[1], _ended)
    replay = _follow(base_url, run.id, owner[1], _ended)
    assert _lines(replay) == ["only line"]
    assert replay[-1].event == "end"


def test_invalid_last_event_id_is_422(
    client: TestClient, run: Run, owner: tuple, auth: Callable
) -> None:
    headers = {**auth(owner[1]), "Last-Event-ID": "not-a-cursor"}
    assert client.get(f"/api/v1/runs/{run.id}/events", headers=headers).status_code == 422


def test_another_teams_run_cannot_be_followed(
    client: TestClient, run: Run, make_user: Callable, auth: Callable
) -> None:
    _, stranger = make_user()
    assert client.get(f"/api/v1/runs/{run.id}/events", headers=auth(stranger)).status_code == 404


def test_start_now_skips_what_was_stored_before_connecting(
    base_url: str, run: Run, owner: tuple, redis: Redis, redis_prefix: str
) -> None:
    publish(redis, redis_prefix, log_event(run, 0, ["old"]), metrics_event(run, 1, range(5)))
    _follow(base_url, run.id, owner[1], lambda ms: len(_lines(ms)) == 1 and len(_steps(ms)) == 5)
    publish(
        redis,
        redis_prefix,
        log_event(run, 2, ["new"]),
        StateEvent(**attributed(run, 1), seq=3, ts=datetime.now(UTC), state=RunState.completed),
    )
    # The completion may already be stored by the time the stream starts; either way the old
    # line and the old points are not sent again.
    messages = _follow_from_now(base_url, run.id, owner[1])
    assert messages[0].event == "open" and messages[0].id == messages[0].data["cursor"]
    assert "old" not in _lines(messages)
    assert _steps(messages) == []


def _follow_from_now(base_url: str, run_id: str, token: str) -> list[Message]:
    return _follow(base_url, run_id, token, lambda _: False, params={"start": "now"})


def test_an_idle_stream_sends_keepalive_pings_and_retry_advice(
    base_url: str, run: Run, owner: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_router, "KEEPALIVE_SECONDS", 1)
    seen: list[str] = []
    with httpx.stream(
        "GET",
        f"{base_url}/api/v1/runs/{run.id}/events",
        headers={"Authorization": f"Bearer {owner[1]}"},
        timeout=30,
    ) as response:
        for line in response.iter_lines():
            seen.append(line)
            if line.startswith(": ping"):
                break
    assert f"retry: {live_router.RETRY_MS}" in seen
    assert any(line.startswith(": ping") for line in seen)
