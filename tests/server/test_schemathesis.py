"""Property-based API test: schemathesis generates requests from the app's own OpenAPI document
(bounded: a few examples per operation) and checks that nothing answers 5xx or breaks the
documented schema. It runs as a project member with one run, so reads find real data."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# The SSE stream never ends by design; it has its own tests.
ENDLESS = r"/events$"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


def send(client: TestClient, kwargs: dict[str, Any]) -> httpx.Response:
    """Sends schemathesis' request (built for `requests`) through the app's TestClient, so the
    test's app, lifespan and database are the ones exercised."""
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    files = kwargs.get("files")
    if files:
        # requests stringifies scalar form values; httpx wants text or bytes.
        kwargs["files"] = [
            (name, (filename, value if isinstance(value, bytes | str) else str(value), *rest))
            for name, (filename, value, *rest) in files
        ]
    for unsupported in (
        "cookies",
        "timeout",
        "verify",
        "allow_redirects",
        "stream",
        "cert",
        "proxies",
    ):
        kwargs.pop(unsupported, None)
    return client.request(**kwargs)


@pytest.mark.slow
def test_api_never_answers_5xx_and_keeps_to_its_schema(
    app: FastAPI,
    client: TestClient,
    make_user: Callable,
    make_project: Callable,
    make_run: Callable,
    auth: Callable,
) -> None:
    user, token = make_user()
    make_run(make_project(user, name="vision"), user)
    headers = auth(token)
    schema = schemathesis.openapi.from_dict(app.openapi()).exclude(path_regex=ENDLESS)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @BOUNDS
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            response = send(client, case.as_transport_kwargs(base_url="", headers=headers))
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
