"""The worker's HTTP side: heartbeats, artifact uploads and downloads, with the worker token.

Transport errors and 5xx become `ServerUnreachable` (retry later); other errors are raised
as they are, because retrying a 4xx would fail the same way.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from worker.errors import RunyardWorkerError, ServerUnreachable


class WorkerApi:
    def __init__(self, server_url: str, token: str | None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=server_url.rstrip("/"), headers=headers, timeout=timeout
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"{method} {url}: {exc}; will retry") from exc
        if response.status_code >= 500:
            raise ServerUnreachable(f"{method} {url}: HTTP {response.status_code}; will retry")
        if response.status_code >= 400:
            raise RunyardWorkerError(
                f"{method} {url}: HTTP {response.status_code}: {response.text[:500]}"
            )
        return response

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self._request("POST", "/api/v1/worker/heartbeat", json=payload)
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}

    def upload(self, run_id: str, kind: str, path: Path, fields: dict[str, Any]) -> dict[str, Any]:
        """Upload a checkpoint (`kind="checkpoints"`) or an export (`kind="exports"`); returns
        the server's record (with its `id`)."""
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        digest = hashlib.sha256()
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        with path.open("rb") as stream:
            response = self._request(
                "POST",
                f"/api/v1/worker/runs/{run_id}/{kind}",
                data=form,
                files={"file": (path.name, stream, "application/octet-stream")},
                # The server verifies it while the file streams to disk: a torn upload is
                # refused instead of stored.
                headers={"X-Content-SHA256": digest.hexdigest()},
            )
        body = response.json()
        if not isinstance(body, dict):
            raise RunyardWorkerError(f"unexpected upload answer for run {run_id}: {body!r}")
        return body

    def download(self, url: str, target: Path) -> Path:
        """Stream `url` (absolute, or relative to the server) into `target`."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    error = ServerUnreachable if response.status_code >= 500 else RunyardWorkerError
                    raise error(f"GET {url}: HTTP {response.status_code}: {response.text[:300]}")
                with target.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"GET {url}: {exc}; will retry") from exc
        return target
