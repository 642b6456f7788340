"""The `runyard` command.

    runyard up                                   # the whole service on this machine
    runyard submit examples/digits.yaml --follow # submit and watch
    runyard runs | logs RUN -f | cancel RUN | token NAME | down

The server URL and token come from --url/--token, else RUNYARD_URL/RUNYARD_TOKEN, else the
local stack's defaults (http://127.0.0.1:8000 and the admin token `runyard up` saved).
"""

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from pydantic import ValidationError

from runyard.client import ApiError, Client, RunyardError, load_spec
from runyard.follow import RunFollower
from runyard.local_stack import LocalStack, StackOptions, stop_detached, token_file


def _data_dir() -> Path:
    return Path(os.environ.get("RUNYARD_DATA_DIR", ".runyard"))


def _client(args: argparse.Namespace) -> Client:
    token = args.token or os.environ.get("RUNYARD_TOKEN")
    if not token and token_file(_data_dir()).exists():
        token = token_file(_data_dir()).read_text().strip()
    return Client(args.url or os.environ.get("RUNYARD_URL"), token)


def cmd_up(args: argparse.Namespace) -> int:
    options = StackOptions(
        data_dir=Path(args.data_dir),
        port=args.port,
        redis_url=args.redis_url,
        database_url=args.database_url or "",
        worker_name=args.worker_name,
        gpus=args.gpus,
    )
    stack = LocalStack(options)
    try:
        stack.up()
    except (RunyardError, OSError) as exc:
        stack.down()
        print(f"runyard up: {exc}", file=sys.stderr)
        return 1
    print(f"Runyard is up.\n  dashboard:   {options.url}/\n  API docs:    {options.url}/docs")
    print(f"  admin token: {stack.admin_token}")
    print(f"  logs:        {stack.logs}/")
    print(f"  use it:      export RUNYARD_URL={options.url} RUNYARD_TOKEN={stack.admin_token}")
    if args.detach:
        print("  stop it:     runyard down")
        return 0
    print("Press Ctrl-C to stop.")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        dead = [name for name, p in stack.processes if p.poll() is not None]
        if dead:
            print(f"runyard up: {', '.join(dead)} exited; see {stack.logs}/", file=sys.stderr)
            break
    stack.down()
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    count = stop_detached(Path(args.data_dir))
    print(f"stopped {count} process(es)" if count else "nothing to stop")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    spec = load_spec(Path(args.spec))
    with _client(args) as client:
        # Not allowed to list or create projects: the submit below says what is wrong.
        with contextlib.suppress(ApiError):
            client.ensure_project(spec.project)
        experiment = client.submit(spec, bundle=args.bundle)
        run_ids = experiment.get("run_ids", [])
        print(f"experiment {experiment['id']} ({spec.name}): {len(run_ids)} run(s)")
        for run_id in run_ids:
            print(f"  run {run_id}")
        if not args.follow or not run_ids:
            return 0
        final = {}
        for run_id in run_ids:
            if len(run_ids) > 1:
                print(f"--- following run {run_id}")
            final[run_id] = RunFollower(client, run_id).follow(timeout=args.timeout)
        return 0 if all(r["state"] == "completed" for r in final.values()) else 1


def cmd_runs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        runs = client.runs(state=args.state, project_id=args.project, limit=args.limit)
    print(f"{'RUN':<36}  {'STATE':<10}  {'ATTEMPT':>7}  EXPERIMENT")
    for run in runs:
        print(
            f"{run['id']:<36}  {run['state']:<10}  {run.get('attempt', 1):>7}  "
            f"{run.get('experiment_name', '')}"
        )
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        after = None
        while True:
            page = client.logs(args.run, after=after)
            for line in page["lines"]:
                print(("! " if line["stream"] == "stderr" else "") + line["text"])
                after = line["id"]
            if page.get("next_after"):
                continue
            if not args.follow or client.run(args.run)["state"] in (
                "completed",
                "failed",
                "canceled",
            ):
                return 0
            time.sleep(0.5)  # polling interval


def cmd_cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        run = client.cancel(args.run)
    print(f"run {args.run}: {run['state']}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    with _client(args) as client:
        kind = "worker" if args.worker else "user"
        created = client.create_token(args.name, kind=kind, worker_name=args.worker)
    print(created["token"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runyard",
        description="Runyard: submit, watch and manage training experiments on a shared cluster.",
    )
    parser.add_argument("--url", help="server URL (default: $RUNYARD_URL or http://127.0.0.1:8000)")
    parser.add_argument(
        "--token", help="API token (default: $RUNYARD_TOKEN or the local admin token)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start server, ingester, scheduler, a worker (and Redis)")
    up.add_argument("--data-dir", default=str(_data_dir()), help="database, artifacts, logs")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--redis-url",
        default=os.environ.get("RUNYARD_REDIS_URL"),
        help="a running Redis to use (default: the stack starts its own, password-protected)",
    )
    up.add_argument(
        "--database-url",
        default=os.environ.get("RUNYARD_DATABASE_URL"),
        help="default: SQLite in the data dir",
    )
    up.add_argument("--worker-name", default="local")
    up.add_argument(
        "--gpus", type=int, help="GPU slots to declare (default: what torch sees, or one CPU slot)"
    )
    up.add_argument(
        "--detach",
        action="store_true",
        help="return once everything is up; stop with `runyard down`",
    )
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a stack started with `runyard up --detach`")
    down.add_argument("--data-dir", default=str(_data_dir()))
    down.set_defaults(func=cmd_down)

    submit = sub.add_parser("submit", help="submit an experiment spec (YAML or JSON)")
    submit.add_argument("spec", help="path to the spec, e.g. examples/digits.yaml")
    submit.add_argument("--bundle", help="directory of code to upload with it (packed as tar.gz)")
    submit.add_argument("--follow", "-f", action="store_true", help="stream progress until it ends")
    submit.add_argument("--timeout", type=float, help="stop following after this many seconds")
    submit.set_defaults(func=cmd_submit)

    runs = sub.add_parser("runs", help="list runs you can see")
    runs.add_argument("--state", action="append", help="filter by state (repeatable)")
    runs.add_argument("--project", help="filter by project id")
    runs.add_argument("--limit", type=int, default=50)
    runs.set_defaults(func=cmd_runs)

    logs = sub.add_parser("logs", help="print a run's log lines")
    logs.add_argument("run", help="run id")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep printing until the run ends"
    )
    logs.set_defaults(func=cmd_logs)

    cancel = sub.add_parser("cancel", help="cancel a run (owner or project admin)")
    cancel.add_argument("run", help="run id")
    cancel.set_defaults(func=cmd_cancel)

    token = sub.add_parser("token", help="create an API token and print it (shown once)")
    token.add_argument("name", help="a label for the token")
    token.add_argument("--worker", metavar="WORKER_NAME", help="a worker token for this worker")
    token.set_defaults(func=cmd_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"runyard: invalid spec:\n{exc}", file=sys.stderr)
    except (RunyardError, OSError, ValueError) as exc:
        print(f"runyard: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("runyard: interrupted (runs keep going on the server)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
