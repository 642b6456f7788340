"""Which server and which token: the one lookup the CLI and the SDK share.

The server URL: the one given, else `RUNYARD_URL`, else the local stack started last with
`runyard up`, else the server of the latest `runyard login`, else http://127.0.0.1:8000.

The token, for that URL: the one given, else `RUNYARD_TOKEN`, else the admin token of the local
stack serving that URL (recorded by `runyard up` in the per-user config directory, so it is
found from any working directory), else the token `runyard login` saved for it. A token is
only ever sent to the server it was recorded for. Every source looked at is remembered, so a
refused or missing token can be reported with where the client looked.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runyard.user_config import config_dir, local_stack, normalize_url, saved_logins

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str | None
    source: str
    """Where the token came from (or 'nowhere')."""
    tried: tuple[str, ...]
    """Each source looked at, in order, with what it held."""

    def explain(self) -> str:
        return "; ".join(f"{i}) {step}" for i, step in enumerate(self.tried, 1))


def _default_url(environ: Mapping[str, str], directory: Path) -> str:
    if environ.get("RUNYARD_URL"):
        return environ["RUNYARD_URL"]
    stack, _ = local_stack(directory, None)
    if stack is not None:
        return stack.url
    logins = saved_logins(directory)
    return next(iter(logins), DEFAULT_URL)


def server_url(
    url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> str:
    """The server a client talks to (the first half of `resolve`)."""
    environ = os.environ if environ is None else environ
    directory = config_dir() if directory is None else directory
    return normalize_url(url or _default_url(environ, directory))


def resolve(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Credentials:
    environ = os.environ if environ is None else environ
    directory = config_dir() if directory is None else directory
    url = server_url(url, environ=environ, directory=directory)
    if token:
        return Credentials(url, token, "the token passed in", ("the token passed in",))
    tried: list[str] = []
    if environ.get("RUNYARD_TOKEN"):
        return Credentials(url, environ["RUNYARD_TOKEN"], "RUNYARD_TOKEN", ("RUNYARD_TOKEN",))
    tried.append("RUNYARD_TOKEN (not set)")

    stack, looked_at = local_stack(directory, url)
    if stack is not None:
        source = f"the local stack's admin token in {looked_at} (written by `runyard up`)"
        return Credentials(url, stack.token, source, (*tried, source))
    tried.append(f"a local stack serving {url} in {looked_at} (none recorded by `runyard up`)")

    login = saved_logins(directory).get(url)
    login_file = directory / "credentials.json"
    if login is not None:
        source = f"the token `runyard login` saved in {login_file}"
        return Credentials(url, login, source, (*tried, source))
    tried.append(f"`runyard login` for {url} in {login_file} (none saved)")
    return Credentials(url, None, "nowhere", tuple(tried))
