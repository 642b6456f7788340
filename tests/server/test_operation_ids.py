"""OpenAPI operation ids are short lowerCamelCase names (listRuns, submitExperiment), unique
across the API, so clients generated from the document read well."""

import re

from server.app import create_app
from server.operation_ids import camel_case


def _operations() -> dict[str, tuple[str, str]]:
    document = create_app().openapi()
    return {
        op["operationId"]: (method.upper(), path)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }


def test_operation_ids_are_unique_lower_camel_case_names():
    document = create_app().openapi()
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id), operation_id


def test_the_main_operations_have_the_names_people_use():
    operations = _operations()
    assert operations["listRuns"] == ("GET", "/api/v1/runs")
    assert operations["submitExperiment"] == ("POST", "/api/v1/experiments")
    assert operations["validateExperiment"] == ("POST", "/api/v1/experiments/validate")
    assert operations["cancelRun"] == ("POST", "/api/v1/runs/{run_id}/cancel")
    assert operations["getCurrentUser"] == ("GET", "/api/v1/users/me")


def test_camel_case_joins_the_words_of_a_function_name():
    assert camel_case("get_metric_series_batch") == "getMetricSeriesBatch"
    assert camel_case("healthz") == "healthz"
