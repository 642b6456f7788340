"""`runyard up` and `runyard down`: the whole service on this machine."""

import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from runyard.cli.session import err, out
from runyard.local_stack import LocalStack, StackError, StackOptions, stop_detached
from runyard.user_config import config_dir


def _default_data_dir() -> Path:
    return Path(os.environ.get("RUNYARD_DATA_DIR", ".runyard"))


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        default_factory=_default_data_dir,
        help="database, artifacts, Redis data and logs ($RUNYARD_DATA_DIR, default ./.runyard)",
        show_default=False,
    ),
]


def up(
    data_dir: DataDir,
    port: Annotated[int, typer.Option(help="port of the server and dashboard")] = 8000,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="a running Redis to use, with its password (default: the stack starts its own)"
        ),
    ] = None,
    redis_prefix: Annotated[
        str | None, typer.Option(help="key prefix (default: derived from the data directory)")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="default: SQLite in the data directory")
    ] = None,
    worker_name: Annotated[str, typer.Option(help="name of the local worker")] = "local",
    gpus: Annotated[
        int | None,
        typer.Option(help="GPU slots to declare (default: what torch sees, or one CPU slot)"),
    ] = None,
    detach: Annotated[
        bool, typer.Option(help="return once everything is up; stop it with `runyard down`")
    ] = False,
) -> None:
    """Start the server, ingester, scheduler, a worker and their Redis on this machine."""
    options = StackOptions(
        data_dir=data_dir,
        port=port,
        redis_url=redis_url or os.environ.get("RUNYARD_REDIS_URL") or None,
        redis_prefix=redis_prefix,
        database_url=database_url or os.environ.get("RUNYARD_DATABASE_URL") or "",
        worker_name=worker_name,
        gpus=gpus,
        record_in=config_dir(),
        say=lambda message: err().print(message),
    )
    stack = LocalStack(options)
    try:
        stack.up()
    except (StackError, OSError) as exc:
        stack.down()
        raise StackError(f"{exc}") from exc
    console = out()
    console.print("Runyard is up.")
    console.print(f"  dashboard:   {options.url}/")
    console.print(f"  API docs:    {options.url}/docs")
    console.print(f"  admin token: {stack.admin_token}")
    console.print(f"  logs:        {stack.logs}/")
    console.print("  the CLI and SDK find this stack and its token from any directory")
    if detach:
        console.print(f"  stop it:     runyard down --data-dir {options.data_dir}")
        return
    console.print("Press Ctrl-C to stop.")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        dead = [name for name, process in stack.processes if process.poll() is not None]
        if dead:
            err().print(f"runyard up: {', '.join(dead)} exited; see {stack.logs}/")
            break
    stack.down()


def down(data_dir: DataDir) -> None:
    """Stop a stack started with `runyard up --detach`."""
    count = stop_detached(data_dir)
    out().print(f"stopped {count} process(es)" if count else f"nothing runs from {data_dir}")
