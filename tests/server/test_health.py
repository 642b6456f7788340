"""`/healthz` answers without authentication and reports the database."""

from fastapi.testclient import TestClient

from server.app import DASHBOARD_NOT_BUILT


def test_healthz_needs_no_token_and_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_root_explains_how_to_build_the_dashboard_when_it_is_absent(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == DASHBOARD_NOT_BUILT
    assert "npm run build" in response.text
