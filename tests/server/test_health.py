"""`/healthz` answers without authentication and reports the database."""

from fastapi.testclient import TestClient

from server.dashboard import DASHBOARD_NOT_BUILT


def test_healthz_needs_no_token_and_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_root_explains_how_to_build_the_dashboard_when_it_is_absent(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == DASHBOARD_NOT_BUILT
    assert "npm run build" in response.text


def test_dashboard_build_is_served_at_root_when_present(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html>runyard dashboard</html>")
    settings.web_dist = dist
    with TestClient(create_app(settings)) as client:
        response = client.get("/")
        assert response.status_code == 200
        assert "runyard dashboard" in response.text
        assert client.get("/healthz").status_code == 200


def test_a_dashboard_built_after_the_server_started_is_served_without_a_restart(
    settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    dist = tmp_path / "later"
    settings.web_dist = dist
    with TestClient(create_app(settings)) as client:
        assert client.get("/").text == DASHBOARD_NOT_BUILT
        assert client.get("/assets/app.js").status_code == 404
        (dist / "assets").mkdir(parents=True)
        (dist / "index.html").write_text("<html>built later</html>")
        (dist / "assets" / "app.js").write_text("console.log(1)")
        assert "built later" in client.get("/").text
        assert client.get("/assets/app.js").text == "console.log(1)"
        assert client.get("/api/v1/users/me").status_code == 401  # the API still comes first


def test_request_over_the_upload_limit_is_413_before_it_is_read(settings, make_user, auth) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    settings.max_upload_bytes = 1000
    _, token = make_user()
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/projects",
            content=b"x" * 5000,
            headers={**auth(token), "Content-Type": "application/json"},
        )
    assert response.status_code == 413


def test_chunked_request_growing_past_the_limit_is_413(settings, make_user, auth) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    settings.max_upload_bytes = 1000
    _, token = make_user()

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 500

    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/projects",
            content=chunks(),
            headers={**auth(token), "Content-Type": "application/json"},
        )
    assert response.status_code == 413
