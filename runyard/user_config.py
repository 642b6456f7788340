"""The per-user config directory: the local stacks `runyard up` started and the tokens saved by
`runyard login`, so the CLI and the SDK find them from any working directory.

`$RUNYARD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/runyard`, else `~/.config/runyard`. The folder is
mode 700 and every file in it mode 600.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from runyard.private_files import private_dir, write_private


def config_dir() -> Path:
    explicit = os.environ.get("RUNYARD_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "runyard"


def data_dir() -> Path:
    """Where the clients keep data of their own (the spool of unsent batches):
    `$RUNYARD_DATA_HOME`, else `$XDG_DATA_HOME/runyard`, else `~/.local/share/runyard`."""
    explicit = os.environ.get("RUNYARD_DATA_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "runyard"


def normalize_url(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class LocalStackRecord:
    """What `runyard up` leaves for the clients: where the stack answers and its admin token."""

    url: str
    token: str
    data_dir: str


def _stack_file(directory: Path, url: str) -> Path:
    parsed = urlparse(url)
    return directory / "stacks" / f"{parsed.hostname}-{parsed.port or 80}.json"


def record_local_stack(directory: Path, record: LocalStackRecord) -> Path:
    stacks = private_dir(private_dir(directory) / "stacks")
    path = _stack_file(directory, record.url)
    write_private(path, json.dumps(asdict(record), indent=2) + "\n")
    os.utime(stacks)
    return path


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def local_stack(directory: Path, url: str | None) -> tuple[LocalStackRecord | None, Path]:
    """The stack recorded for `url`, or (no URL given) the one started most recently; and the
    file that was looked at (or the folder, when there is none), for messages."""
    stacks = directory / "stacks"
    if url is not None:
        path = _stack_file(directory, normalize_url(url))
        candidates = [path]
    else:
        path = stacks
        candidates = sorted(
            stacks.glob("*.json") if stacks.is_dir() else [],
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
    for candidate in candidates:
        data = _read(candidate)
        if data and {"url", "token", "data_dir"} <= data.keys():
            return LocalStackRecord(str(data["url"]), str(data["token"]), str(data["data_dir"])), (
                candidate
            )
    return None, path


def credentials_file(directory: Path) -> Path:
    return directory / "credentials.json"


def saved_logins(directory: Path) -> dict[str, str]:
    """URL -> token, as saved by `runyard login`; the first entry is the default server."""
    data = _read(credentials_file(directory)) or {}
    logins = data.get("logins", {})
    return {str(k): str(v) for k, v in logins.items()} if isinstance(logins, dict) else {}


def save_login(directory: Path, url: str, token: str) -> Path:
    logins = saved_logins(directory)
    logins.pop(normalize_url(url), None)
    # The latest login comes first: it is the default server for later commands.
    updated = {normalize_url(url): token, **logins}
    path = credentials_file(private_dir(directory))
    write_private(path, json.dumps({"logins": updated}, indent=2) + "\n")
    return path


def forget_login(directory: Path, url: str) -> bool:
    logins = saved_logins(directory)
    if logins.pop(normalize_url(url), None) is None:
        return False
    write_private(credentials_file(directory), json.dumps({"logins": logins}, indent=2) + "\n")
    return True
