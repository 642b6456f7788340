"""`runyard runs`, `show`, `logs`, `cancel` and `projects`."""

import time
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from runyard.cli import lookup
from runyard.cli.render import age, duration, number, short
from runyard.cli.session import Session, err, out
from runyard.client import ApiError, Client
from runyard.schemas import TERMINAL_STATES, RunState

RunRef = Annotated[str, typer.Argument(metavar="RUN", help="a run id or its first characters")]


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def _last_value(client: Client, run_id: str, key: str) -> float | None:
    try:
        points = client.metric(run_id, key, max_points=3)
    except ApiError:
        return None
    return points[-1]["value"] if points else None


class _Monitors:
    """The monitored metric of each run's experiment, fetched once per experiment."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._by_experiment: dict[str, str | None] = {}

    def describe(self, run: dict[str, Any]) -> str:
        experiment = run["experiment_id"]
        if experiment not in self._by_experiment:
            spec = self.client.experiment(experiment)["spec"]
            self._by_experiment[experiment] = (spec.get("checkpoint") or {}).get("monitor")
        key = self._by_experiment[experiment]
        if key is None:
            return "-"
        if run.get("started_at") is None:
            return key
        return f"{key}={number(_last_value(self.client, run['id'], key))}"


def runs(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(help="a project name (or id)")] = None,
    state: Annotated[
        list[RunState] | None, typer.Option(help="only runs in this state (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="newest runs shown")] = 20,
) -> None:
    """List your runs, newest first: project, state, age, duration and the monitored metric."""
    session: Session = ctx.obj
    with session.client() as client:
        projects = client.projects()
        names = {p["id"]: p["name"] for p in projects}
        project_id = lookup.project(client, project, projects)["id"] if project else None
        listed = client.runs(
            project_id=project_id, state=[s.value for s in state or []] or None, limit=limit
        )
        monitors = _Monitors(client)
        table = _table("RUN", "EXPERIMENT", "PROJECT", "STATE", "AGE", "DURATION", "METRIC")
        for run in listed:
            table.add_row(
                short(run["id"]),
                run.get("experiment_name", ""),
                names.get(run["project_id"], short(run["project_id"])),
                run["state"] + (f" (attempt {run['attempt']})" if run["attempt"] > 1 else ""),
                age(run["created_at"]),
                duration(run),
                monitors.describe(run),
            )
    if not listed:
        out().print("no runs" + (f" in project {project}" if project else "") + " yet")
        return
    out().print(table)


def show(ctx: typer.Context, run: RunRef) -> None:
    """A run in full: state and history, parameters, final metrics, checkpoints, exports."""
    session: Session = ctx.obj
    with session.client() as client:
        run_id = lookup.run_id(client, run)
        detail = client.run(run_id)
        project = {p["id"]: p["name"] for p in client.projects()}.get(detail["project_id"], "")
        keys = client.metric_keys(run_id)
        finals = {key: _last_value(client, run_id, key) for key in keys}
        checkpoints = client.checkpoints(run_id)
        exports = client.exports(run_id)
    console = out()
    console.print(f"run {detail['id']}")
    console.print(f"  experiment  {detail['experiment_name']} (trial {detail['trial_index']})")
    console.print(f"  project     {project}")
    console.print(f"  state       {detail['state']} (attempt {detail['attempt']})")
    if detail.get("exit_reason"):
        console.print(f"  reason      {detail['exit_reason']}")
    if detail.get("rung") is not None:
        results = ", ".join(
            f"rung {r['rung']} ({r['epochs']} epochs): {r['value']}"
            for r in detail.get("rung_results", [])
        )
        console.print(f"  ASHA        rung {detail['rung']}" + (f"; {results}" if results else ""))
    console.print(f"  created     {age(detail['created_at'])}")
    console.print(f"  duration    {duration(detail)}")
    if detail.get("params"):
        console.print("  params      " + ", ".join(f"{k}={v}" for k, v in detail["params"].items()))
    console.print("history:")
    for step in detail.get("transitions", []):
        reason = f"  ({step['reason']})" if step.get("reason") else ""
        console.print(f"  {age(step['at']):>12}  {step['to_state']}{reason}")
    if finals:
        console.print("final metrics:")
        for key, value in finals.items():
            console.print(f"  {key:<24} {number(value)}")
    if checkpoints:
        console.print("checkpoints:  (runyard download RUN --checkpoint best|last|ID)")
        for c in checkpoints:
            flags = " ".join(f for f, on in (("best", c["is_best"]), ("last", c["is_last"])) if on)
            console.print(f"  {short(c['id'])}  epoch {c['epoch']} step {c['step']}  {flags}")
    if exports:
        console.print("exports:      (runyard download RUN --export onnx|torchscript)")
        for e in exports:
            console.print(f"  {e['format']:<12} {'verified' if e['verified'] else 'unverified'}")
    if detail.get("traceback"):
        console.print("traceback:")
        console.print(detail["traceback"], markup=False)


def logs(
    ctx: typer.Context,
    run: RunRef,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing until the run ends")
    ] = False,
) -> None:
    """Print a run's log lines (stderr lines start with '! ')."""
    session: Session = ctx.obj
    with session.client() as client:
        run_id = lookup.run_id(client, run)
        after = None
        while True:
            page = client.logs(run_id, after=after)
            for line in page["lines"]:
                print(("! " if line["stream"] == "stderr" else "") + line["text"], flush=True)
                after = line["id"]
            if page.get("next_after"):
                continue
            if not follow or client.run(run_id)["state"] in TERMINAL_STATES:
                return
            time.sleep(0.5)  # polling interval


def cancel(
    ctx: typer.Context,
    run: RunRef,
    wait: Annotated[bool, typer.Option(help="wait until the run has stopped")] = False,
    timeout: Annotated[float, typer.Option(help="how long --wait waits, in seconds")] = 120.0,
) -> None:
    """Cancel a run (its owner or a project admin). A running run is stopped by its worker."""
    session: Session = ctx.obj
    with session.client() as client:
        run_id = lookup.run_id(client, run)
        answer = client.cancel(run_id)
        if answer["state"] in TERMINAL_STATES:
            out().print(f"run {short(run_id)}: {answer['state']}")
            return
        out().print(
            f"run {short(run_id)}: cancel requested (it was {answer['state']}; its worker stops it)"
        )
        if not wait:
            err().print(f"follow it with `runyard cancel {short(run_id)} --wait` or `runyard show`")
            return
        final = client.wait(run_id, timeout=timeout, poll=0.5)
    out().print(f"run {short(run_id)}: {final['state']}")


def projects(ctx: typer.Context) -> None:
    """List the projects you belong to, with your role in each."""
    session: Session = ctx.obj
    with session.client() as client:
        listed = client.projects()
    table = _table("PROJECT", "ID", "ROLE", "CREATED")
    for p in listed:
        table.add_row(p["name"], short(p["id"]), str(p["role"]), age(p["created_at"]))
    out().print(table if listed else "you belong to no project yet; submit with --create-project")


def _wait(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 1:
        return "now"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"~{hours}h{minutes:02d}m" if hours else f"~{minutes}m{secs:02d}s"


def queue(
    ctx: typer.Context,
    run: Annotated[
        str | None, typer.Argument(metavar="[RUN]", help="one queued run (id or prefix)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="queued runs shown")] = 50,
) -> None:
    """The queue in the scheduler's order: each run's place (in the cluster and among its
    owner's runs), what holds it, and an estimate of its wait."""
    session: Session = ctx.obj
    with session.client() as client:
        if run is not None:
            entry = client.queue_position(lookup.run_id(client, run))
            out().print(
                f"run {short(entry['run_id'])}: #{entry['position']} in the cluster's queue, "
                f"#{entry['user_position']} of its owner's; {entry['reason'].replace('_', ' ')}:"
                f" {entry['note']}; expected wait {_wait(entry['wait_seconds'])}",
                markup=False,
            )
            return
        entries = client.queue(limit)
    if not entries:
        out().print("the queue is empty")
        return
    table = _table("#", "OWNER #", "RUN", "EXPERIMENT", "PRIORITY", "SLOTS", "WAITS FOR", "WAIT")
    for entry in entries:
        table.add_row(
            str(entry["position"]),
            str(entry["user_position"]),
            short(entry["run_id"]) if entry["run_id"] else "(other team)",
            entry["experiment_name"] or "",
            str(entry["priority"]),
            str(entry["slots"]),
            entry["reason"].replace("_", " "),
            _wait(entry["wait_seconds"]),
        )
    out().print(table)
