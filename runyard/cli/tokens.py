"""`runyard token create | list | revoke`, and `runyard login | logout`."""

import re
from datetime import UTC, datetime
from typing import Annotated

import typer

from runyard.cli import lookup
from runyard.cli.render import age, parse_time, short
from runyard.cli.runs import _table
from runyard.cli.session import CliError, Session, err, out
from runyard.client import Client
from runyard.credentials import server_url
from runyard.user_config import config_dir, forget_login, save_login

tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

_EXPIRY = re.compile(r"^(\d+)\s*([dwy]?)$")
_DAYS = {"": 1, "d": 1, "w": 7, "y": 365}


def expiry_days(text: str) -> int:
    """'30d', '2w', '1y' or a number of days."""
    match = _EXPIRY.match(text.strip().lower())
    days = int(match.group(1)) * _DAYS[match.group(2)] if match else 0
    if not 1 <= days <= 3650:
        raise CliError(f"--expires {text!r}: give a lifetime such as 30d, 2w or 1y (at most 10y)")
    return days


@tokens.command("create")
def create(
    ctx: typer.Context,
    label: Annotated[str, typer.Argument(help="what the token is for, e.g. laptop or ci")],
    expires: Annotated[
        str | None, typer.Option(help="lifetime: 30d, 2w, 1y (default: until revoked)")
    ] = None,
    worker: Annotated[
        str | None,
        typer.Option(metavar="WORKER_NAME", help="a worker token for this worker (admins)"),
    ] = None,
) -> None:
    """Create a token and print its secret (shown only this once)."""
    session: Session = ctx.obj
    days = expiry_days(expires) if expires else None
    with session.client() as client:
        created = client.create_token(
            label,
            kind="worker" if worker else "user",
            worker_name=worker,
            expires_in_days=days,
        )
    print(created["token"], flush=True)
    until = f"expires {created['expires_at'][:10]}" if created.get("expires_at") else "no expiry"
    err().print(
        f"token {short(created['id'])} ({label}, {created['kind']}, {until}); the secret above "
        "is shown only this once"
    )


def _status(token: dict[str, object]) -> str:
    if token.get("revoked_at"):
        return "revoked"
    expires = parse_time(str(token["expires_at"])) if token.get("expires_at") else None
    if expires is not None and expires <= datetime.now(UTC):
        return "expired"
    return "active"


@tokens.command("list")
def list_tokens(ctx: typer.Context) -> None:
    """Your tokens (admins also see worker tokens); secrets are never shown again."""
    session: Session = ctx.obj
    with session.client() as client:
        listed = client.tokens()
    table = _table("ID", "LABEL", "KIND", "STATUS", "CREATED", "LAST USED", "EXPIRES")
    for t in listed:
        table.add_row(
            short(t["id"]),
            t["name"] + (f" ({t['worker_name']})" if t.get("worker_name") else ""),
            t["kind"],
            _status(t),
            age(t["created_at"]),
            age(t.get("last_used_at")),
            (t.get("expires_at") or "never")[:10],
        )
    out().print(table)


@tokens.command("revoke")
def revoke(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="a token id (or its first characters) or label")],
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    session: Session = ctx.obj
    with session.client() as client:
        found = lookup.token(client, token)
        client.revoke_token(found["id"])
    out().print(f"revoked token {short(found['id'])} ({found['name']})")


ServerOption = Annotated[
    str | None, typer.Option("--url", help="the server (default: as for every command)")
]


def login(
    ctx: typer.Context,
    url: ServerOption = None,
    token: Annotated[
        str | None, typer.Option(help="the token (default: asked for, without echo)")
    ] = None,
) -> None:
    """Save a token for a server; later commands use it when RUNYARD_TOKEN is not set."""
    session: Session = ctx.obj
    url = server_url(url or session.url)
    secret = token or typer.prompt(f"API token for {url}", hide_input=True, err=True)
    with Client(url, secret.strip()) as client:
        me = client.me()
    saved = save_login(config_dir(), url, secret.strip())
    out().print(f"signed in to {url} as {me['email']}; token saved in {saved}")


def logout(ctx: typer.Context, url: ServerOption = None) -> None:
    """Forget the token `runyard login` saved for the server."""
    session: Session = ctx.obj
    url = server_url(url or session.url)
    if forget_login(config_dir(), url):
        out().print(f"forgot the saved token for {url}")
    else:
        out().print(f"no token saved for {url}")
