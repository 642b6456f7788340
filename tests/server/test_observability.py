"""GET /metrics: Prometheus text with request, ingest and lag figures; a token is required."""

import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from redis import Redis

from runyard.schemas.states import RunState
from tests.server.ingest_helpers import metrics_event, publish


def _value(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample starting with {prefix!r} in:\n{text}")


def test_metrics_need_a_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401


def test_run_scoped_tokens_cannot_read_metrics(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    make_run_token: Callable,
    auth: Callable,
) -> None:
    user, _ = make_user()
    run = make_run(make_project(user), user)
    assert client.get("/metrics", headers=auth(make_run_token(run))).status_code == 403


def test_requests_are_counted_by_route_template(
    client: TestClient, make_user: Callable, auth: Callable
) -> None:
    _, token = make_user()
    client.get("/api/v1/runs/some-id/logs", headers=auth(token))
    text = client.get("/metrics", headers=auth(token)).text
    assert (
        _value(
            text,
            'runyard_http_requests_total{method="GET",route="/api/v1/runs/{run_id}/logs",status="404"}',
        )
        == 1
    )
    assert "runyard_http_request_duration_seconds_bucket" in text


def test_ingested_events_and_lag_are_reported(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
    redis_prefix: str,
) -> None:
    user, token = make_user()
    run = make_run(make_project(user), user, state=RunState.running)
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    publish(redis, redis_prefix, metrics_event(run, 0, range(25)))
    redis.close()
    text = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = client.get("/metrics", headers=auth(token)).text
        if _value(text, "runyard_ingested_metric_points_total") == 25:
            break
        time.sleep(0.05)  # polling interval of a deadline wait
    assert _value(text, "runyard_ingested_metric_points_total") == 25
    assert _value(text, "runyard_ingested_events_total") == 1
    assert _value(text, "runyard_ingest_lag_entries") == 0
