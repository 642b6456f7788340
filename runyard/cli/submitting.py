"""`runyard submit` (and `--dry-run`) and `runyard examples`."""

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from runyard.cli import lookup
from runyard.cli.render import short
from runyard.cli.session import CliError, Session, err, interactive, out
from runyard.client import Client, load_spec
from runyard.follow import RunFollower
from runyard.schemas import ExperimentSpec

EXAMPLES_PACKAGE = "examples"


def _project_exists_or_create(
    client: Client, spec: ExperimentSpec, create: bool, dry_run: bool = False
) -> None:
    """No project is created by accident: only with --create-project, or when a person at
    a terminal says yes. A dry run creates nothing."""
    projects = client.projects()
    if any(p["name"] == spec.project for p in projects):
        return
    if not dry_run and (
        create
        or (
            interactive()
            and typer.confirm(f"project {spec.project!r} does not exist; create it?", err=True)
        )
    ):
        client.create_project(spec.project)
        err().print(f"created project {spec.project} (you are its admin)")
        return
    try:
        lookup.project(client, spec.project, projects)
    except CliError as exc:
        raise CliError(
            f"{exc}; pass --create-project to create it (you become its admin)"
        ) from None


def _show_plan(plan: dict[str, Any]) -> None:
    console = out()
    trials = plan.get("trials", [])
    console.print(
        f"valid: {len(trials)} run(s) in project {plan['project']}, "
        f"{plan['resources_summary']} each"
    )
    for trial in trials:
        params = trial.get("params") or {}
        if params:
            shown = ", ".join(f"{k}={v}" for k, v in params.items())
            console.print(f"  trial {trial['index']}: {shown}")
    for note in plan.get("notes", []):
        console.print(f"  note: {note}")
    console.print("nothing was created (dry run)")


def submit(
    ctx: typer.Context,
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="a YAML or JSON spec file")],
    bundle: Annotated[
        Path | None,
        typer.Option(help="a directory of code (or a .tar.gz) to upload with the experiment"),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="stream progress, logs and metrics to the end")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="stop following after this many seconds")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="check the spec, its search and resources; create nothing"),
    ] = False,
    create_project: Annotated[
        bool, typer.Option(help="create the spec's project if it does not exist")
    ] = False,
) -> None:
    """Submit an experiment spec (YAML or JSON)."""
    session: Session = ctx.obj
    spec = load_spec(spec_path)
    with session.client() as client:
        if dry_run:
            _project_exists_or_create(client, spec, create=False, dry_run=True)
            _show_plan(client.validate(spec, bundle=bundle))
            return
        _project_exists_or_create(client, spec, create_project)
        experiment = client.submit(spec, bundle=bundle)
        run_ids = experiment.get("run_ids", [])
        console = out()
        console.print(f"experiment {short(experiment['id'])} ({spec.name}): {len(run_ids)} run(s)")
        for run_id in run_ids:
            console.print(f"  run {short(run_id)}")
        if not follow or not run_ids:
            return
        final = {}
        for run_id in run_ids:
            if len(run_ids) > 1:
                console.print(f"--- following run {short(run_id)}")
            final[run_id] = RunFollower(client, run_id, say=_say).follow(timeout=timeout)
    if not all(r["state"] == "completed" for r in final.values()):
        raise typer.Exit(1)


def _say(line: str) -> None:
    print(line, flush=True)


def _packaged() -> dict[str, str]:
    """Example name -> its spec text, from the installed `examples` package."""
    try:
        folder = resources.files(EXAMPLES_PACKAGE)
    except ModuleNotFoundError:
        return {}
    return {
        entry.name.removesuffix(".yaml"): entry.read_text()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def examples(
    name: Annotated[str | None, typer.Argument(help="an example to print or write")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the spec to this file")
    ] = None,
) -> None:
    """List the example experiments that come with Runyard, or print/write one's spec."""
    packaged = _packaged()
    if name is None:
        for example, text in packaged.items():
            description = (yaml.safe_load(text) or {}).get("description", "")
            out().print(f"{example:<10} {description}")
        out().print("print one with `runyard examples NAME`, or save it with `-o FILE`")
        return
    if name not in packaged:
        raise CliError(f"no example {name!r}; there are: {', '.join(packaged)}")
    if output is None:
        print(packaged[name], end="")
        return
    output.write_text(packaged[name])
    err().print(f"wrote {output}; submit it with `runyard submit {output} --follow`")
