"""`runyard tensorboard RUN...`: download runs' TensorBoard event files and open TensorBoard
on them, one folder per run (named after its experiment and short id), side by side."""

import contextlib
import subprocess
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import httpx
import typer

from runyard.cli import lookup
from runyard.cli.render import short
from runyard.cli.session import CliError, Session, err, interactive, out
from runyard.client import ApiError


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def tensorboard(
    ctx: typer.Context,
    runs: Annotated[
        list[str], typer.Argument(metavar="RUN...", help="run ids or their first characters")
    ],
    logdir: Annotated[
        Path, typer.Option(help="where the event files go, one folder per run")
    ] = Path("runyard-tensorboard"),
    port: Annotated[int, typer.Option(help="TensorBoard's port on 127.0.0.1")] = 6006,
    download_only: Annotated[
        bool, typer.Option(help="only download the event files; do not start TensorBoard")
    ] = False,
    browser: Annotated[bool, typer.Option(help="open TensorBoard in a web browser")] = True,
) -> None:
    """Download runs' TensorBoard event files and open TensorBoard on them."""
    session: Session = ctx.obj
    with session.client() as client:
        for ref in runs:
            run_id = lookup.run_id(client, ref)
            name = f"{client.run(run_id)['experiment_name']}-{short(run_id)}"
            try:
                folder = client.tensorboard(run_id, logdir / name)
            except ApiError as exc:
                if exc.status == 404:
                    raise CliError(f"run {short(run_id)}: {exc.message}") from None
                raise
            err().print(f"run {short(run_id)}: event files in {folder}")
    if download_only:
        out().print(f"open them with: tensorboard --logdir {logdir}")
        return
    url = f"http://127.0.0.1:{port}/"
    log = logdir / "tensorboard.log"
    argv = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        while not _answers(url):
            if process.poll() is not None:
                detail = log.read_text(errors="replace").strip()[-500:]
                raise CliError(f"TensorBoard did not start (see {log}): {detail}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.3)  # polling TensorBoard's port
        out().print(f"TensorBoard: {url}  (Ctrl-C stops it)")
        if browser and interactive():
            webbrowser.open(url)
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """TensorBoard is asked to stop, then killed if it has not within a few seconds: a busy
    machine's TensorBoard can take long over SIGTERM, and Ctrl-C must end the command."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
