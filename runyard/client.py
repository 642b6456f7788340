"""The Python SDK: a thin, typed wrapper over Runyard's REST API (httpx).

    from runyard.client import Client
    client = Client()  # RUNYARD_URL and RUNYARD_TOKEN from the environment
    experiment = client.submit("examples/digits.yaml")
    run = client.wait(experiment["run_ids"][0])

Errors from the server become `ApiError` (with the status and the server's message);
an unreachable server becomes `ConnectionFailed`. Both derive from `RunyardError`.
"""

import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from runyard.schemas import TERMINAL_STATES, ExperimentSpec, parse_spec_text

DEFAULT_URL = "http://127.0.0.1:8000"


class RunyardError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(RunyardError):
    """The server did not answer; check RUNYARD_URL or start it with `runyard up`."""


class ApiError(RunyardError):
    def __init__(self, status: int, detail: Any, method: str, url: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{method} {url}: HTTP {status}: {_detail_text(detail)}")


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        )
    return str(detail)


def pack_bundle(directory: Path) -> bytes:
    """A code bundle (tar.gz) of `directory`'s contents, without caches and VCS folders."""
    skip = {"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache", ".runyard"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if skip & set(relative.parts) or path.is_symlink() or not path.is_file():
                continue
            tar.add(path, arcname=str(relative), recursive=False)
    return buffer.getvalue()


def load_spec(spec: str | Path | dict[str, Any] | ExperimentSpec) -> ExperimentSpec:
    """A spec from a file path, YAML/JSON text, a dict or a model; validated locally first so
    mistakes are reported before anything is sent."""
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return ExperimentSpec.model_validate(spec)
    text = str(spec)
    if "\n" not in text and Path(text).is_file():
        return parse_spec_text(Path(text).read_text())
    return parse_spec_text(text)


class Client:
    def __init__(
        self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0
    ) -> None:
        self.url = (url or os.environ.get("RUNYARD_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("RUNYARD_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"cannot reach the Runyard server at {self.url} ({exc}); start it with "
                "`runyard up` or set RUNYARD_URL"
            ) from exc
        if response.status_code >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail, method, path)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- experiments and runs -----------------------------------------------------------------
    def submit(
        self,
        spec: str | Path | dict[str, Any] | ExperimentSpec,
        bundle: str | Path | None = None,
    ) -> dict[str, Any]:
        """Submit an experiment; returns it with its `run_ids`. `bundle` is a directory of
        code (packed here) or a ready .tar.gz."""
        model = load_spec(spec)
        body = model.model_dump_json(exclude_defaults=True)
        if bundle is None:
            return self._call(
                "POST",
                "/api/v1/experiments",
                content=body,
                headers={"Content-Type": "application/json"},
            )
        path = Path(bundle)
        data = pack_bundle(path) if path.is_dir() else path.read_bytes()
        return self._call(
            "POST",
            "/api/v1/experiments",
            data={"spec": body},
            files={"bundle": ("bundle.tar.gz", data, "application/gzip")},
        )

    def ensure_project(self, name: str) -> dict[str, Any]:
        """The project called `name`, created (you become its admin) when missing."""
        for project in self._call("GET", "/api/v1/projects"):
            if project["name"] == name:
                return project
        return self._call("POST", "/api/v1/projects", json={"name": name})

    def runs(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/api/v1/runs", params=params)["items"]

    def run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/runs/{run_id}")

    def cancel(self, run_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/v1/runs/{run_id}/cancel")

    def wait(self, run_id: str, timeout: float = 3600.0, poll: float = 1.0) -> dict[str, Any]:
        """Block until the run ends; returns its final state."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["state"] in TERMINAL_STATES:
                return run
            if time.monotonic() > deadline:
                raise RunyardError(f"run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(poll)  # polling interval

    # --- telemetry and artifacts ----------------------------------------------------------------
    def logs(self, run_id: str, after: int | None = None, limit: int = 1000) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        return self._call("GET", f"/api/v1/runs/{run_id}/logs", params=params)

    def metric_keys(self, run_id: str) -> list[str]:
        return self._call("GET", f"/api/v1/runs/{run_id}/metrics")["keys"]

    def metric(self, run_id: str, key: str, max_points: int = 2000) -> list[dict[str, Any]]:
        """The series downsampled to at most `max_points`, each value a float (the API's
        "NaN", "Infinity" and "-Infinity" become float NaN and infinities)."""
        points = self._call(
            "GET", f"/api/v1/runs/{run_id}/metrics/{key}", params={"max_points": max_points}
        )["points"]
        for point in points:
            if isinstance(point["value"], str):
                point["value"] = float(point["value"])
        return points

    def metric_summary(self, run_id: str) -> dict[str, Any]:
        """Each metric's last, min and max with their steps, and what the run's limits kept
        out (values as the API gives them: numbers, or "NaN", "Infinity", "-Infinity")."""
        return self._call("GET", f"/api/v1/runs/{run_id}/summary")

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]:
        return _items(self._call("GET", f"/api/v1/runs/{run_id}/checkpoints"))

    def exports(self, run_id: str) -> list[dict[str, Any]]:
        return _items(self._call("GET", f"/api/v1/runs/{run_id}/exports"))

    def download(self, path: str, target: Path) -> Path:
        """Stream an artifact (`/api/v1/checkpoints/{id}/download`...) into `target`."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(response.status_code, response.text, "GET", path)
                with target.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download of {path} failed: {exc}") from exc
        return target

    def events(self, run_id: str, last_event_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Server-Sent Events of a run (logs, metrics, states) as dicts with `event`, `id`
        and `data` (parsed JSON when it is JSON)."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        path = f"/api/v1/runs/{run_id}/events"
        try:
            with self._http.stream("GET", path, headers=headers, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(response.status_code, response.text, "GET", path)
                yield from _parse_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"event stream of run {run_id} broke: {exc}") from exc

    # --- tokens -----------------------------------------------------------------------------------
    def create_token(
        self, name: str, kind: str = "user", worker_name: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "kind": kind}
        if worker_name:
            body["worker_name"] = worker_name
        return self._call("POST", "/api/v1/tokens", json=body)

    def workers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/v1/workers")

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/api/v1/users/me")


def _items(body: Any) -> list[dict[str, Any]]:
    return body["items"] if isinstance(body, dict) and "items" in body else list(body or [])


def _parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data or event:
                text = "\n".join(data)
                try:
                    event["data"] = json.loads(text)
                except ValueError:
                    event["data"] = text
                event.setdefault("event", "message")
                yield event
            event, data = {}, []
        elif line.startswith(":"):
            continue  # keep-alive comment
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field in ("event", "id"):
                event[field] = value
