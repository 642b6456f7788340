"""The Python SDK: a thin, typed wrapper over Runyard's REST API (httpx).

    from runyard.client import Client
    client = Client()  # server and token found as `runyard.credentials` describes
    experiment = client.submit("examples/digits.yaml")
    run = client.wait(experiment["run_ids"][0])

Errors from the server become `ApiError` (with the status and the server's message; a refused
or missing token is `AuthenticationFailed`, saying where the token was looked for); an
unreachable server becomes `ConnectionFailed`; a spec that does not validate, `SpecError`. All
derive from `RunyardError`.
"""

import difflib
import io
import json
import re
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from pydantic import ValidationError

from runyard.credentials import DEFAULT_URL, Credentials, resolve
from runyard.schemas import TERMINAL_STATES, ExperimentSpec, parse_spec_text
from runyard.schemas.spec_errors import SpecProblem, spec_problems
from runyard.schemas.tracking import (
    BatchStored,
    ExternalBatch,
    ExternalFinish,
    ExternalRunCreate,
    ExternalRunPublic,
)

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "AuthenticationFailed",
    "Client",
    "ConnectionFailed",
    "RunyardError",
    "SpecError",
    "SpecFileNotFound",
    "load_spec",
    "pack_bundle",
]


class RunyardError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(RunyardError):
    """The server did not answer; check RUNYARD_URL or start it with `runyard up`."""


class SpecFileNotFound(RunyardError, FileNotFoundError):
    """The spec file named does not exist; the message suggests a near name."""


class SpecError(RunyardError, ValueError):
    """A spec that does not parse or validate; `problems` name each field."""

    def __init__(self, problems: list[SpecProblem], source: str = "the spec") -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source} is not a valid experiment spec:\n{lines}")


class ApiError(RunyardError):
    def __init__(self, status: int, detail: Any, method: str, url: str) -> None:
        self.status = status
        self.detail = detail
        self.message = _detail_text(detail)
        super().__init__(f"{method} {url}: HTTP {status}: {self.message}")


class AuthenticationFailed(ApiError):
    """401: no token, or the server refused it. Says where a token was looked for."""

    def __init__(
        self, status: int, detail: Any, method: str, url: str, credentials: Credentials
    ) -> None:
        super().__init__(status, detail, method, url)
        if credentials.token is None:
            self.message = (
                f"no API token for {credentials.url}; looked in: {credentials.explain()}. "
                "Set RUNYARD_TOKEN, start a stack with `runyard up`, or sign in with "
                "`runyard login`"
            )
        else:
            self.message = (
                f"{credentials.url} refused the token from {credentials.source}: "
                f"{self.message}. Looked in: {credentials.explain()}"
            )
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


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


_SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def _looks_like_a_path(text: str) -> bool:
    return "\n" not in text and (text.lower().endswith(_SPEC_SUFFIXES) or "/" in text)


def _missing_file(path: Path) -> SpecFileNotFound:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return SpecFileNotFound(f"no such file: {path} (the folder {folder} does not exist)")
    near = difflib.get_close_matches(
        path.name, [p.name for p in folder.iterdir() if p.suffix in _SPEC_SUFFIXES], n=1
    )
    hint = f"; did you mean {folder / near[0]}?" if near else ""
    return SpecFileNotFound(f"no such file: {path}{hint}")


def load_spec(spec: str | Path | dict[str, Any] | ExperimentSpec) -> ExperimentSpec:
    """A spec from a file path, YAML/JSON text, a dict or a model; validated locally first so
    mistakes are reported before anything is sent."""
    if isinstance(spec, ExperimentSpec):
        return spec
    source = "the spec"
    try:
        if isinstance(spec, dict):
            return ExperimentSpec.model_validate(spec)
        if isinstance(spec, Path) or _looks_like_a_path(spec):
            path = Path(spec)
            if not path.is_file():
                raise _missing_file(path)
            source = str(path)
            return parse_spec_text(path.read_text(), "json" if path.suffix == ".json" else None)
        return parse_spec_text(spec)
    except ValidationError as exc:
        raise SpecError(spec_problems(exc), source) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, RunyardError):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError([SpecProblem((), message, "value_error")], source) from exc


ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) while a download streams."""

_FILENAME = re.compile(r"filename\*=utf-8''([^;]+)|filename=\"?([^\";]+)\"?", re.IGNORECASE)


def _filename(content_disposition: str | None, fallback: str) -> str:
    match = _FILENAME.search(content_disposition or "")
    name = unquote(match.group(1)) if match and match.group(1) else (match and match.group(2))
    # Never a path: a server-given name lands in the folder the caller chose, nowhere else.
    return Path(name).name if name else fallback


class Client:
    def __init__(
        self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0
    ) -> None:
        self.credentials = resolve(url, token)
        self.url = self.credentials.url
        token = self.credentials.token
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
            self._raise_for(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _raise_for(self, response: httpx.Response, method: str, path: str) -> None:
        try:
            detail = response.json()
        except ValueError:
            detail = response.text
        if response.status_code == 401:
            raise AuthenticationFailed(response.status_code, detail, method, path, self.credentials)
        raise ApiError(response.status_code, detail, method, path)

    # --- experiments and runs -----------------------------------------------------------------
    def _send_spec(
        self,
        route: str,
        spec: str | Path | dict[str, Any] | ExperimentSpec,
        bundle: str | Path | None,
    ) -> dict[str, Any]:
        model = load_spec(spec)
        body = model.model_dump_json(exclude_defaults=True)
        if bundle is None:
            return self._call(
                "POST", route, content=body, headers={"Content-Type": "application/json"}
            )
        path = Path(bundle)
        if not path.exists():
            raise RunyardError(f"no such bundle: {path} (a directory of code or a .tar.gz)")
        data = pack_bundle(path) if path.is_dir() else path.read_bytes()
        return self._call(
            "POST",
            route,
            data={"spec": body},
            files={"bundle": ("bundle.tar.gz", data, "application/gzip")},
        )

    def submit(
        self,
        spec: str | Path | dict[str, Any] | ExperimentSpec,
        bundle: str | Path | None = None,
    ) -> dict[str, Any]:
        """Submit an experiment; returns it with its `run_ids`. `bundle` is a directory of
        code (packed here) or a ready .tar.gz. The project must exist (see `ensure_project`)."""
        return self._send_spec("/api/v1/experiments", spec, bundle)

    def validate(
        self,
        spec: str | Path | dict[str, Any] | ExperimentSpec,
        bundle: str | Path | None = None,
    ) -> dict[str, Any]:
        """What submitting would do (the runs a search expands into, whether the cluster can
        hold them), without creating anything. Problems raise `ApiError` (422) as submit would."""
        return self._send_spec("/api/v1/experiments/validate", spec, bundle)

    def projects(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/v1/projects")

    def create_project(self, name: str, description: str = "") -> dict[str, Any]:
        return self._call(
            "POST", "/api/v1/projects", json={"name": name, "description": description}
        )

    def ensure_project(self, name: str) -> dict[str, Any]:
        """The project called `name`, created (you become its admin) when missing."""
        for project in self.projects():
            if project["name"] == name:
                return project
        return self.create_project(name)

    def runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Runs you can see, newest first. Filters as GET /api/v1/runs takes them (`state`,
        `project_id`, `id_prefix`, `limit`, ...)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/api/v1/runs", params=params)["items"]

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        """The experiment with its spec and `run_ids`."""
        return self._call("GET", f"/api/v1/experiments/{experiment_id}")

    def run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/runs/{run_id}")

    def queue(self, limit: int = 500) -> list[dict[str, Any]]:
        """The queued runs in the scheduler's order, each with what holds it and an estimate
        of its wait (GET /api/v1/cluster)."""
        body = self._call("GET", "/api/v1/cluster", params={"queue_limit": limit})
        return list(body["queue"])

    def queue_position(self, run_id: str) -> dict[str, Any]:
        """Where one queued run stands (409 when it is not queued)."""
        return self._call("GET", f"/api/v1/runs/{run_id}/queue")

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

    def download(
        self, path: str, target: Path, *, progress: ProgressCallback | None = None
    ) -> Path:
        """Stream an artifact (`/api/v1/checkpoints/{id}/download`...) to `target`: a file
        path, or an existing folder to write the file into under the name the server gives it.
        The file appears only once complete; returns its path."""
        try:
            with self._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise_for(response, "GET", path)
                if target.is_dir():
                    name = _filename(
                        response.headers.get("content-disposition"), Path(path).parent.name
                    )
                    target = target / name
                total = (
                    int(response.headers["content-length"])
                    if (response.headers.get("content-length", "").isdigit())
                    else None
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                done = 0
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                partial.replace(target)
                return target
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download of {path} failed: {exc}") from exc

    def tensorboard(self, run_id: str, folder: Path) -> Path:
        """Download the run's TensorBoard event files and unpack them into `folder` (only
        files and folders inside it: tarfile's 'data' filter)."""
        folder.mkdir(parents=True, exist_ok=True)
        archive = self.download(
            f"/api/v1/runs/{run_id}/tensorboard", folder.parent / f".{folder.name}.tar.gz"
        )
        try:
            with tarfile.open(archive, mode="r:gz") as tar:
                tar.extractall(folder, filter="data")
        finally:
            archive.unlink(missing_ok=True)
        return folder

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
                    self._raise_for(response, "GET", path)
                yield from _messages(EventSource(response).iter_sse())
        except (httpx.TransportError, SSEError) as exc:
            raise ConnectionFailed(f"event stream of run {run_id} broke: {exc}") from exc

    # --- tokens -----------------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        kind: str = "user",
        worker_name: str | None = None,
        expires_in_days: int | None = None,
    ) -> dict[str, Any]:
        """A new token; its secret (`token`) is in this answer only."""
        body: dict[str, Any] = {"name": name, "kind": kind}
        if worker_name:
            body["worker_name"] = worker_name
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return self._call("POST", "/api/v1/tokens", json=body)

    def tokens(self) -> list[dict[str, Any]]:
        """Your tokens (administrators also see worker tokens), without their secrets."""
        return self._call("GET", "/api/v1/tokens")

    def revoke_token(self, token_id: str) -> None:
        self._call("DELETE", f"/api/v1/tokens/{token_id}")

    def workers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/v1/workers")

    # Runs logged from outside the cluster (runyard.init uses these; see runyard.tracking).
    def create_external_run(self, data: ExternalRunCreate) -> ExternalRunPublic:
        body = self._call("POST", "/api/v1/external-runs", json=data.model_dump(mode="json"))
        return ExternalRunPublic.model_validate(body)

    def external_run(self, run_id: str) -> ExternalRunPublic:
        return ExternalRunPublic.model_validate(
            self._call("GET", f"/api/v1/external-runs/{run_id}")
        )

    def send_batch(self, run_id: str, batch: ExternalBatch | str) -> BatchStored:
        """`batch` as a model or as its JSON text (as runyard.init spools it)."""
        body = batch if isinstance(batch, str) else batch.model_dump_json()
        answer = self._call(
            "POST",
            f"/api/v1/external-runs/{run_id}/batches",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        return BatchStored.model_validate(answer)

    def external_run_heartbeat(self, run_id: str) -> ExternalRunPublic:
        return ExternalRunPublic.model_validate(
            self._call("POST", f"/api/v1/external-runs/{run_id}/heartbeat")
        )

    def finish_external_run(self, run_id: str, finish: ExternalFinish) -> ExternalRunPublic:
        body = self._call(
            "POST", f"/api/v1/external-runs/{run_id}/finish", json=finish.model_dump(mode="json")
        )
        return ExternalRunPublic.model_validate(body)

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/api/v1/users/me")


def _items(body: Any) -> list[dict[str, Any]]:
    return body["items"] if isinstance(body, dict) and "items" in body else list(body or [])


def _messages(events: Iterator[ServerSentEvent]) -> Iterator[dict[str, Any]]:
    """The stream's messages as dicts with `event`, `id` (when given) and `data` (parsed JSON
    when it is JSON). Frames without data (the server's `retry` advice) are not messages."""
    for sse in events:
        if not sse.data:
            continue
        event: dict[str, Any] = {"event": sse.event}
        if sse.id:
            event["id"] = sse.id
        try:
            event["data"] = json.loads(sse.data)
        except ValueError:
            event["data"] = sse.data
        yield event
