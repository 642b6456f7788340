"""Turning what people type into ids: a run by the first characters of its id (as `runyard
runs` shows them), a project by name or id, a token by id or label, a checkpoint by
`best`/`last` or id. Each failure says what was looked for and how to list what exists."""

import difflib
import re
from collections.abc import Iterable
from typing import Any

from runyard.cli.render import short
from runyard.cli.session import CliError
from runyard.client import Client

_HEX_PREFIX = re.compile(r"^[0-9a-fA-F][0-9a-fA-F-]{0,35}$")


def _ambiguous(ref: str, ids: Iterable[str], what: str) -> CliError:
    shown = ", ".join(short(i, max(len(ref) + 4, 12)) for i in ids)
    return CliError(f"{ref!r} matches several {what} ({shown}); give more characters")


def run_id(client: Client, ref: str) -> str:
    ref = ref.strip()
    if not _HEX_PREFIX.match(ref):
        raise CliError(
            f"{ref!r} is not a run id; give a run id or its first characters, as "
            "`runyard runs` shows them"
        )
    matches = client.runs(id_prefix=ref, limit=5)
    if not matches:
        raise CliError(f"no run {ref!r} among your projects; list yours with `runyard runs`")
    if len(matches) > 1:
        raise _ambiguous(ref, (m["id"] for m in matches), "runs")
    return str(matches[0]["id"])


def _did_you_mean(ref: str, names: list[str]) -> str:
    near = difflib.get_close_matches(ref, names, n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def project(
    client: Client, ref: str, projects: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A project you belong to, by exact name, else by id or the first characters of its id."""
    projects = client.projects() if projects is None else projects
    for candidate in projects:
        if candidate["name"] == ref:
            return candidate
    by_id = [p for p in projects if str(p["id"]).startswith(ref.lower())]
    if len(by_id) == 1:
        return by_id[0]
    if len(by_id) > 1:
        raise _ambiguous(ref, (p["id"] for p in by_id), "projects")
    names = [p["name"] for p in projects]
    listing = f" (yours: {', '.join(sorted(names))})" if names else " (you belong to none yet)"
    raise CliError(f"no project {ref!r}{_did_you_mean(ref, names)}{listing}")


def token(client: Client, ref: str) -> dict[str, Any]:
    tokens = client.tokens()
    by_id = (
        [t for t in tokens if str(t["id"]).startswith(ref.lower())]
        if _HEX_PREFIX.match(ref)
        else []
    )
    by_label = [t for t in tokens if t["name"] == ref]
    for matches in (by_id, by_label):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise _ambiguous(ref, (t["id"] for t in matches), "tokens")
    raise CliError(
        f"no token {ref!r} among yours (by id or label)"
        f"{_did_you_mean(ref, [t['name'] for t in tokens])}; list them with `runyard token list`"
    )


def checkpoint(client: Client, run: str, ref: str) -> dict[str, Any]:
    """`best`, `last`, or a checkpoint id (or its first characters) of the run."""
    checkpoints = client.checkpoints(run)
    if not checkpoints:
        raise CliError(f"run {short(run)} has no checkpoints (yet)")
    if ref in ("best", "last"):
        flagged = [c for c in checkpoints if c["is_best" if ref == "best" else "is_last"]]
        if flagged:
            return flagged[-1]
        if ref == "best":
            # No monitored metric: the newest checkpoint is the best there is.
            return max(checkpoints, key=lambda c: (c["step"], c["created_at"]))
        raise CliError(f"run {short(run)} kept no last checkpoint; use --checkpoint best")
    matches = [c for c in checkpoints if str(c["id"]).startswith(ref.lower())]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise _ambiguous(ref, (c["id"] for c in matches), "checkpoints")
    kept = ", ".join(short(c["id"]) for c in checkpoints)
    raise CliError(
        f"run {short(run)} has no checkpoint {ref!r} (it kept: {kept}; or say best/last)"
    )


def export(client: Client, run: str, export_format: str) -> dict[str, Any]:
    exports = client.exports(run)
    for candidate in exports:
        if candidate["format"] == export_format:
            return candidate
    made = ", ".join(sorted(e["format"] for e in exports)) or "none (yet)"
    raise CliError(f"run {short(run)} has no {export_format} export (it has: {made})")
