"""External runs (logged from outside the cluster): created running under the project rules,
fed idempotent batches through the metric store, finished by their client, never scheduled."""

import time
from datetime import timedelta

from runyard.schemas.tracking import RunKind
from server.db import utcnow
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import take_snapshot
from server.tracking.abandonment import give_up_silent_runs


def _create(client, headers, project, name="laptop", **extra):
    return client.post(
        "/api/v1/external-runs",
        json={"project": project.name, "name": name, **extra},
        headers=headers,
    )


def _batch(seq, steps, key="loss", scale=1.0, params=None):
    return {
        "seq": seq,
        "points": [
            {"key": key, "step": s, "value": s * scale, "wall_time": time.time()} for s in steps
        ],
        "params": params or {},
    }


def _points(client, headers, run_id, key="loss"):
    response = client.get(
        f"/api/v1/runs/{run_id}/metrics/{key}", params={"resolution": "full"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [(p["step"], p["value"]) for p in response.json()["points"]]


def test_an_external_run_starts_running_as_its_own_experiment(
    client, make_user, make_project, auth
):
    user, token = make_user()
    project = make_project(user)
    created = _create(client, auth(token), project, config={"opt": {"lr": 0.1}}, tags=["laptop"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "running" and body["last_seq"] is None
    run = client.get(f"/api/v1/runs/{body['id']}", headers=auth(token)).json()
    assert run["kind"] == "external" and run["experiment_name"] == "laptop"
    assert run["params"] == {"opt.lr": 0.1}
    assert run["worker_id"] is None and run["started_at"] is not None


def test_an_external_run_needs_an_existing_project_you_are_a_member_of(
    client, make_user, make_project, add_member, auth
):
    owner, _ = make_user()
    project = make_project(owner)
    _outsider, outsider_token = make_user()
    assert _create(client, auth(outsider_token), project).status_code == 404
    viewer, viewer_token = make_user()
    add_member(project, viewer, "viewer")
    refused = _create(client, auth(viewer_token), project)
    assert refused.status_code == 403 and "member" in refused.json()["detail"]
    missing = client.post(
        "/api/v1/external-runs", json={"project": "nope", "name": "x"}, headers=auth(viewer_token)
    )
    assert missing.status_code == 404 and "POST /api/v1/projects" in missing.json()["detail"]


def test_a_resent_batch_is_stored_once(client, make_user, make_project, auth):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    url = f"/api/v1/external-runs/{run_id}/batches"
    first = client.post(url, json=_batch(0, range(10), params={"lr": 0.1}), headers=auth(token))
    assert first.json() == {"seq": 0, "duplicate": False, "points": 10}
    again = client.post(url, json=_batch(0, range(10)), headers=auth(token))
    assert again.json() == {"seq": 0, "duplicate": True, "points": 0}
    client.post(url, json=_batch(1, range(10, 20)), headers=auth(token))
    assert _points(client, auth(token), run_id) == [(s, float(s)) for s in range(20)]
    summary = client.get(f"/api/v1/runs/{run_id}/summary", headers=auth(token)).json()
    assert summary["metrics"][0]["points"] == 20
    assert (
        client.get(f"/api/v1/external-runs/{run_id}", headers=auth(token)).json()["last_seq"] == 1
    )


def test_a_step_logged_again_in_a_later_batch_keeps_the_later_value(
    client, make_user, make_project, auth
):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    url = f"/api/v1/external-runs/{run_id}/batches"
    client.post(url, json=_batch(5, range(3)), headers=auth(token))
    client.post(url, json=_batch(6, range(3), scale=10.0), headers=auth(token))
    client.post(url, json=_batch(5, range(3)), headers=auth(token))  # a late resend
    assert _points(client, auth(token), run_id) == [(0, 0.0), (1, 10.0), (2, 20.0)]


def test_only_the_owner_or_a_project_admin_logs_into_an_external_run(
    client, make_user, make_project, add_member, auth
):
    owner, owner_token = make_user()
    project = make_project(owner)
    run_id = _create(client, auth(owner_token), project).json()["id"]
    member, member_token = make_user()
    add_member(project, member, "member")
    refused = client.post(
        f"/api/v1/external-runs/{run_id}/batches", json=_batch(0, [0]), headers=auth(member_token)
    )
    assert refused.status_code == 403 and "owner" in refused.json()["detail"]


def test_finishing_ends_the_run_and_later_batches_are_refused(
    client, make_user, make_project, auth
):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    base = f"/api/v1/external-runs/{run_id}"
    client.post(f"{base}/batches", json=_batch(0, [0]), headers=auth(token))
    done = client.post(
        f"{base}/finish", json={"state": "failed", "reason": "oops"}, headers=auth(token)
    )
    assert done.status_code == 200 and done.json()["state"] == "failed"
    assert (
        client.post(f"{base}/finish", json={"state": "failed"}, headers=auth(token)).status_code
        == 200
    )
    assert client.post(f"{base}/finish", json={}, headers=auth(token)).status_code == 409
    # A resend of a stored batch is still answered (its first answer may have been lost) ...
    assert client.post(f"{base}/batches", json=_batch(0, [0]), headers=auth(token)).json()[
        "duplicate"
    ]
    # ... but nothing new goes into a finished run.
    late = client.post(f"{base}/batches", json=_batch(1, [1]), headers=auth(token))
    assert late.status_code == 409 and "runyard.init" in late.json()["detail"]
    run = client.get(f"/api/v1/runs/{run_id}", headers=auth(token)).json()
    assert run["state"] == "failed" and run["exit_reason"] == "oops"


def test_a_scheduled_run_takes_no_external_batches(client, make_user, make_project, make_run, auth):
    user, token = make_user()
    project = make_project(user)
    run = make_run(project, user, state="running")
    refused = client.post(
        f"/api/v1/external-runs/{run.id}/batches", json=_batch(0, [0]), headers=auth(token)
    )
    assert refused.status_code == 409 and "scheduled by Runyard" in refused.json()["detail"]


def test_the_scheduler_never_sees_external_runs(client, session, make_user, make_project, auth):
    user, token = make_user()
    project = make_project(user)
    run_id = _create(client, auth(token), project).json()["id"]
    snapshot = take_snapshot(session, SchedulerSettings(), utcnow())
    assert run_id not in {q.id for q in snapshot.queued}
    assert snapshot.user_usage.get(user.id, 0) == 0
    assert user.id not in snapshot.recent_gpu_seconds
    from server.runs.models import Run

    assert session.get(Run, run_id).kind == RunKind.external.value


def test_bad_points_are_a_422_that_names_the_field(client, make_user, make_project, auth):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    bad = _batch(0, [0])
    bad["points"][0]["step"] = -1
    refused = client.post(f"/api/v1/external-runs/{run_id}/batches", json=bad, headers=auth(token))
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "step"


def test_an_external_run_shows_in_the_lists_and_pages_scheduled_runs_use(
    client, make_user, make_project, auth
):
    user, token = make_user()
    created = _create(client, auth(token), make_project(user), tags=["notebook"]).json()
    listed = client.get("/api/v1/runs", headers=auth(token)).json()["items"]
    assert [(r["id"], r["kind"]) for r in listed] == [(created["id"], "external")]
    experiment = client.get(f"/api/v1/experiments/{created['experiment_id']}", headers=auth(token))
    assert experiment.status_code == 200 and experiment.json()["tags"] == ["notebook"]
    assert client.get("/api/v1/cluster", headers=auth(token)).status_code == 200
    queue = client.get(f"/api/v1/runs/{created['id']}/queue", headers=auth(token))
    assert queue.status_code == 409  # running, not queued


def test_an_external_runs_config_and_logged_params_filter_and_sort_the_runs_list(
    client, make_user, make_project, auth
):
    user, token = make_user()
    project = make_project(user)
    slow = _create(client, auth(token), project, name="a", config={"lr": 0.001}).json()["id"]
    fast = _create(client, auth(token), project, name="b", config={"lr": 0.1}).json()["id"]
    client.post(  # logged again later: the new value is the one filtered on
        f"/api/v1/external-runs/{slow}/batches",
        json=_batch(0, [0], params={"lr": 0.5}),
        headers=auth(token),
    )
    page = client.get(
        "/api/v1/runs",
        params={"filter": "params.lr > 0.05", "sort": "-params.lr", "columns": "params.lr"},
        headers=auth(token),
    ).json()
    assert [(r["id"], r["columns"]["params.lr"]) for r in page["items"]] == [
        (slow, 0.5),
        (fast, 0.1),
    ]


def _give_up(session, run_id):
    """What the scheduler does to a run whose client went silent past its timeout."""
    later = utcnow() + timedelta(hours=1)
    assert give_up_silent_runs(session, later, timedelta(minutes=10)) == [run_id]
    session.commit()


def test_a_heartbeat_records_that_the_client_is_alive(client, make_user, make_project, auth):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    beat = client.post(f"/api/v1/external-runs/{run_id}/heartbeat", headers=auth(token))
    assert beat.status_code == 200, beat.text
    assert beat.json()["state"] == "running" and beat.json()["abandoned"] is False
    _outsider, outsider_token = make_user()
    assert (
        client.post(f"/api/v1/external-runs/{run_id}/heartbeat", headers=auth(outsider_token))
    ).status_code == 404


def test_an_abandoned_run_takes_its_clients_late_batches_and_runs_again(
    client, session, make_user, make_project, auth
):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    url = f"/api/v1/external-runs/{run_id}/batches"
    client.post(url, json=_batch(0, range(5)), headers=auth(token))
    _give_up(session, run_id)
    shown = client.get(f"/api/v1/external-runs/{run_id}", headers=auth(token)).json()
    assert shown["state"] == "failed" and shown["abandoned"] is True
    late = client.post(url, json=_batch(1, range(5, 10)), headers=auth(token))
    assert late.json() == {"seq": 1, "duplicate": False, "points": 5}
    assert _points(client, auth(token), run_id) == [(s, float(s)) for s in range(10)]
    back = client.get(f"/api/v1/external-runs/{run_id}", headers=auth(token)).json()
    assert back["state"] == "running" and back["abandoned"] is False
    done = client.post(
        f"/api/v1/external-runs/{run_id}/finish", json={"state": "completed"}, headers=auth(token)
    )
    assert done.status_code == 200 and done.json()["state"] == "completed"


def test_a_finished_run_is_never_given_up(client, session, make_user, make_project, auth):
    user, token = make_user()
    run_id = _create(client, auth(token), make_project(user)).json()["id"]
    client.post(
        f"/api/v1/external-runs/{run_id}/finish", json={"state": "completed"}, headers=auth(token)
    )
    assert give_up_silent_runs(session, utcnow() + timedelta(hours=1), timedelta(minutes=1)) == []
