"""The worker's HTTP side: heartbeats, artifact uploads and downloads, with the worker token.

Transport errors and 5xx become `ServerUnreachable` (retry later); other errors are raised
as they are, because retrying a 4xx would fail the same way.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from worker.errors import AttemptEnded, RunyardWorkerError, ServerUnreachable

HEARTBEAT_TIMEOUT = 3.0
"""Heartbeats must not wait long: a slow server must not delay the Redis beat or the lease."""


class WorkerApi:
    def __init__(self, server_url: str, token: str | None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=server_url.rstrip("/"), headers=headers, timeout=timeout
        )
        # Its own connection pool: the heartbeat thread never queues behind a long upload.
        self._beats = httpx.Client(
            base_url=server_url.rstrip("/"), headers=headers, timeout=HEARTBEAT_TIMEOUT
        )

    def close(self) -> None:
        self._client.close()
        self._beats.close()

    def _request(
        self, method: str, url: str, client: httpx.Client | None = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = (client or self._client).request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"{method} {url}: {exc}; will retry") from exc
        if response.status_code >= 500:
            raise ServerUnreachable(f"{method} {url}: HTTP {response.status_code}; will retry")
        if response.status_code == 409:
            raise AttemptEnded(f"{method} {url}: {response.text[:500]}")
        if response.status_code >= 400:
            raise RunyardWorkerError(
                f"{method} {url}: HTTP {response.status_code}: {response.text[:500]}"
            )
        return response

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self._request("POST", "/api/v1/worker/heartbeat", self._beats, json=payload)
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}

    def accept(self, fence: int, node_rank: int, incarnation: str) -> dict[str, Any]:
        """Take a node of an attempt before starting it; `AttemptEnded` when it has ended."""
        response = self._request(
            "POST",
            f"/api/v1/worker/attempts/{fence}/accept",
            json={"node_rank": node_rank, "incarnation": incarnation},
        )
        body = response.json()
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
                    error: type[RunyardWorkerError] = RunyardWorkerError
                    if response.status_code >= 500:
                        error = ServerUnreachable
                    elif response.status_code == 409:
                        error = AttemptEnded
                    raise error(f"GET {url}: HTTP {response.status_code}: {response.text[:300]}")
                with target.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"GET {url}: {exc}; will retry") from exc
        return target
