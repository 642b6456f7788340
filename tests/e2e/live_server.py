"""The real server app on a real port (uvicorn in a thread) with a SQLite database, for SDK
and CLI tests that need no workers."""

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

import server.models
from server.app import create_app
from server.db import make_engine, make_session_factory
from server.settings import Settings
from server.users.bootstrap import bootstrap_admin
from tests.e2e.stack import REDIS_URL, free_port
from tests.worker.polling import wait_for


@dataclass
class LiveServer:
    url: str
    admin_token: str
    settings: Settings


@contextmanager
def live_server(tmp_path: Path, port: int | None = None) -> Iterator[LiveServer]:
    port = port or free_port()
    settings = Settings(
        data_dir=tmp_path,
        redis_url=REDIS_URL,
        redis_prefix=f"rycli-{secrets.token_hex(5)}",
        port=port,
        web_dist=tmp_path / "no-web",
    )
    engine = make_engine(settings.database_url)
    server.models.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        token = bootstrap_admin(session)
    engine.dispose()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=30, what="the server to answer")
    try:
        yield LiveServer(url, token or "", settings)
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
