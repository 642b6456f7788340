"""GET /metrics: Prometheus text with request, ingest and lag figures; a token is required."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from redis import Redis

from runyard.schemas.states import RunState
from tests.server.ingest_helpers import metrics_event, publish
from tests.worker.polling import wait_for


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

    def counted() -> str | None:
        text = client.get("/metrics", headers=auth(token)).text
        return text if _value(text, "runyard_ingested_metric_points_total") == 25 else None

    text = wait_for(counted, timeout=30, what="the 25 points to be counted")
    assert _value(text, "runyard_ingested_events_total") == 1
    assert _value(text, "runyard_ingest_lag_entries") == 0


def _samples(text: str, name: str) -> dict[str, float]:
    """Label text ('state="queued"') -> value, for every sample of one metric."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1 :].rsplit("} ", 1)
            found[labels] = float(value)
    return found


def test_runs_by_state_and_the_queue_by_project_are_gauges(
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
) -> None:
    user, token = make_user()
    vision, nlp = make_project(user, name="vision"), make_project(user, name="nlp")
    for _ in range(3):
        make_run(vision, user)
    make_run(nlp, user, state=RunState.running)
    text = client.get("/metrics", headers=auth(token)).text
    runs = _samples(text, "runyard_runs")
    assert runs['state="queued"'] == 3 and runs['state="running"'] == 1
    assert runs['state="failed"'] == 0
    queue = _samples(text, "runyard_queue_depth")
    assert queue['project="vision"'] == 3 and queue['project="nlp"'] == 0


def test_used_and_free_slots_per_worker_are_gauges(
    client: TestClient,
    session,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
) -> None:
    from server.workers.models import Worker

    user, token = make_user()
    busy = Worker(name="busy", queue="worker.busy", slots_total=4)
    gone = Worker(name="gone", queue="worker.gone", slots_total=2, state="dead")
    session.add_all([busy, gone])
    session.commit()
    make_run(
        make_project(user),
        user,
        state=RunState.running,
        worker_id=busy.id,
        devices=[0, 1, 2],
        placed_on="busy",
    )
    text = client.get("/metrics", headers=auth(token)).text
    assert _samples(text, "runyard_worker_slots_used") == {'worker="busy"': 3, 'worker="gone"': 0}
    assert _samples(text, "runyard_worker_slots_free") == {'worker="busy"': 1, 'worker="gone"': 0}
    assert _samples(text, "runyard_worker_up") == {'worker="busy"': 1, 'worker="gone"': 0}


def test_the_scrape_token_reads_metrics_and_nothing_else(settings, make_user: Callable) -> None:
    from pydantic import SecretStr

    from server.app import create_app

    scrape = "prometheus-scrape-" + "s" * 24
    settings.metrics_token = SecretStr(scrape)
    with TestClient(create_app(settings)) as scoped:
        headers = {"Authorization": f"Bearer {scrape}"}
        metrics = scoped.get("/metrics", headers=headers)
        assert metrics.status_code == 200 and "runyard_runs" in metrics.text
        assert scoped.get("/api/v1/runs", headers=headers).status_code == 401
        wrong = scoped.get("/metrics", headers={"Authorization": "Bearer " + "x" * 42})
        assert wrong.status_code == 401
