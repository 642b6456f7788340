"""The app's Prometheus instruments and the ASGI middleware that times every request.

Each app gets its own CollectorRegistry (on `app.state.instruments`) rather than the library's
global one, so several apps in one process (tests) never share or clash over counters.
"""

import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.ingest.writer import BatchResult
from server.observability.cluster_gauges import ClusterGauges


class Instruments:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "runyard_http_requests",
            "HTTP requests handled, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "runyard_http_request_duration_seconds",
            "time from request to the end of the response body",
            ["method", "route"],
            registry=self.registry,
        )
        self.ingested_events = Counter(
            "runyard_ingested_events",
            "events stored by this process's ingester",
            registry=self.registry,
        )
        self.ingested_points = Counter(
            "runyard_ingested_metric_points", "metric points stored", registry=self.registry
        )
        self.ingested_lines = Counter(
            "runyard_ingested_log_lines", "log lines stored", registry=self.registry
        )
        self.ingest_lag = Gauge(
            "runyard_ingest_lag_entries",
            "stream entries not yet read by the ingest group",
            registry=self.registry,
        )
        self.ingest_pending = Gauge(
            "runyard_ingest_pending_entries",
            "entries read but not yet acknowledged (being written, or of a dead consumer)",
            registry=self.registry,
        )

        self.dead_letters = Gauge(
            "runyard_ingest_dead_letters",
            "stream entries every ingester refused, by kind (malformed, invalid, unknown_run, "
            "misattributed: not written by the worker holding the event's attempt)",
            ["kind"],
            registry=self.registry,
        )

    def record_batch(self, result: BatchResult, events: int) -> None:
        self.ingested_events.inc(events)
        self.ingested_points.inc(result.points)
        self.ingested_lines.inc(result.lines)


class RequestMetrics:
    """Pure ASGI (not BaseHTTPMiddleware), so streamed responses such as SSE pass untouched."""

    def __init__(self, app: ASGIApp, instruments: Instruments, api_prefix: str) -> None:
        self.app = app
        self.instruments = instruments
        self.api_prefix = api_prefix

    def _template(self, scope: Scope) -> str:
        """The matched route's path template, with the API prefix the router was included
        under (the route object itself only knows its path within its router)."""
        route: Any = scope.get("route")
        template = getattr(route, "path", None)
        if not isinstance(template, str):
            return "unmatched"
        under_api = str(scope.get("path", "")).startswith(self.api_prefix + "/")
        if under_api and not template.startswith(self.api_prefix + "/"):
            template = self.api_prefix + template
        return template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The route template, not the raw path, keeps the label set small.
            template = self._template(scope)
            method = scope.get("method", "")
            self.instruments.requests.labels(method, template, str(status)).inc()
            self.instruments.latency.labels(method, template).observe(time.perf_counter() - started)


def install_observability(app: FastAPI, api_prefix: str = "/api/v1") -> None:
    instruments = Instruments()
    instruments.registry.register(ClusterGauges(app))
    app.state.instruments = instruments
    app.add_middleware(RequestMetrics, instruments=instruments, api_prefix=api_prefix)
