"""OpenAPI operation ids: lowerCamelCase from each route function's name (`list_runs` ->
`listRuns`), so generated clients read well, with a few renamed where the function name says
less than the operation (`create_experiment` is what people call submitting)."""

from fastapi.routing import APIRoute

RENAMED = {
    "create_experiment": "submitExperiment",
    "healthz": "getHealth",
    "me": "getCurrentUser",
    "heartbeat": "sendWorkerHeartbeat",
    "follow_run": "followRunEvents",
    "prometheus_metrics": "getPrometheusMetrics",
    "list_members": "listProjectMembers",
    "set_member": "setProjectMember",
    "remove_member": "removeProjectMember",
    "list_logs": "listRunLogs",
    "download_bundle": "downloadRunBundle",
}


def camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    return RENAMED.get(route.name) or camel_case(route.name)
