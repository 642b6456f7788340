"""`runyard download`: a run's checkpoint or exported model, with a progress bar."""

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from runyard.cli import lookup
from runyard.cli.render import short, size
from runyard.cli.runs import RunRef
from runyard.cli.session import CliError, Session, err, out

ExportFormat = Literal["onnx", "torchscript"]


def download(
    ctx: typer.Context,
    run: RunRef,
    checkpoint: Annotated[
        str | None,
        typer.Option(help="best, last, or a checkpoint id (default: best)", show_default=False),
    ] = None,
    export: Annotated[
        ExportFormat | None, typer.Option(help="the exported model instead of a checkpoint")
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="a folder (the file keeps its name) or a file path"),
    ] = Path("."),
) -> None:
    """Download a run's checkpoint or exported model (TorchScript or ONNX)."""
    if checkpoint is not None and export is not None:
        raise CliError("give --checkpoint or --export, not both")
    session: Session = ctx.obj
    with session.client() as client:
        run_id = lookup.run_id(client, run)
        if export is not None:
            item = lookup.export(client, run_id, export)
            route, what = f"/api/v1/exports/{item['id']}/download", f"{export} export"
        else:
            item = lookup.checkpoint(client, run_id, checkpoint or "best")
            route = f"/api/v1/checkpoints/{item['id']}/download"
            what = f"checkpoint {short(item['id'])} (epoch {item['epoch']}, step {item['step']})"
        console = err()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as progress:
            task = progress.add_task(f"run {short(run_id)} {what}", total=item.get("size"))
            saved = client.download(
                route, output, progress=lambda done, total: progress.update(task, completed=done)
            )
    out().print(f"saved {saved} ({size(saved.stat().st_size)})")
