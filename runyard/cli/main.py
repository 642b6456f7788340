"""The `runyard` command (Typer + Rich).

    runyard up                                      # the whole service on this machine
    runyard submit examples/digits.yaml --follow    # submit and watch
    runyard runs | show RUN | logs RUN -f | cancel RUN | queue [RUN] | download RUN | tensorboard RUN...
    runyard token create|list|revoke | login | down

RUN is a run id or its first characters, as `runyard runs` shows them. The server and token
are found as `runyard.credentials` describes (--url/--token, RUNYARD_URL/RUNYARD_TOKEN, the
local stack `runyard up` recorded, `runyard login`).
"""

import sys
from typing import Annotated

import typer

from runyard.cli import artifacts, runs, stack, submitting, tensorboard, tokens
from runyard.cli.session import Session, err
from runyard.client import ApiError, RunyardError

app = typer.Typer(
    name="runyard",
    help="Runyard: submit, watch and manage training experiments on a shared cluster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help="server URL (default: $RUNYARD_URL, the local stack, or `runyard login`)"
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="API token (default: $RUNYARD_TOKEN, the local stack's, or login's)"),
    ] = None,
) -> None:
    ctx.obj = Session(url, token)


app.command()(stack.up)
app.command()(stack.down)
app.command()(submitting.submit)
app.command()(runs.runs)
app.command()(runs.show)
app.command()(runs.logs)
app.command()(runs.cancel)
app.command()(runs.queue)
app.command()(artifacts.download)
app.command()(tensorboard.tensorboard)
app.command()(runs.projects)
app.command()(submitting.examples)
app.add_typer(tokens.tokens, name="token")
app.command()(tokens.login)
app.command()(tokens.logout)


def main(argv: list[str] | None = None) -> int:
    """Runs the command; returns its exit status. Errors the user can fix are one line on
    stderr, never a traceback."""
    try:
        app(args=argv, prog_name="runyard")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except ApiError as exc:
        err().print(f"runyard: {exc.message}", markup=False)
    except (RunyardError, OSError) as exc:
        err().print(f"runyard: {exc}", markup=False)
    except KeyboardInterrupt:
        err().print("runyard: interrupted (runs keep going on the server)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
