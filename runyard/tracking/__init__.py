"""Logging from anywhere: runs that a process Runyard did not start logs itself.

    import runyard
    run = runyard.init(project="vision", name="resnet-sweep-laptop", config={"lr": 0.01})
    for step in range(100):
        run.log({"loss": 1 / (step + 1)}, step=step)
    run.finish()

`init` needs the server (to create or resume the run); after that the server may come and go:
batches wait in the spool (`runyard.tracking.spool`) and are sent when it is back. Each `init`
first sends what crashed processes left in the spool for the same server, and ends those runs
as failed (the process logging them died without `finish()`), unless it resumes one of them
(`resume=<run id>`), which carries on logging into it.
"""

import logging
from pathlib import Path
from typing import Any

from runyard.client import ApiError, Client, ConnectionFailed, RunyardError
from runyard.schemas.states import TERMINAL_STATES
from runyard.schemas.tracking import ExternalFinish, ExternalRunCreate
from runyard.tracking.run import HEARTBEAT_SECONDS, Delivery, Run, deliver
from runyard.tracking.spool import Spool, orphans, spool_root

__all__ = ["Run", "init", "recover_spools"]

log = logging.getLogger("runyard.tracking")

CRASHED = (
    "the process logging it ended without finish() (crashed or killed); the next runyard.init "
    "sent what it had spooled"
)


def init(
    project: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    *,
    resume: str | None = None,
    url: str | None = None,
    token: str | None = None,
    spool_dir: Path | None = None,
    flush_interval: float = 2.0,
    heartbeat_interval: float = HEARTBEAT_SECONDS,
) -> Run:
    """A new run in `project` (which must exist, with you a member), or, with `resume`, the
    external run of that id, carrying on where its last process stopped (its spooled batches
    are sent first). Server and token are found as for the CLI (`runyard.credentials`)."""
    client = Client(url, token)
    root = spool_dir or spool_root()
    try:
        recover_spools(client, root, keep=resume)
        if resume is not None:
            info = client.external_run(resume)
            if info.abandoned:  # given up while this client was away: it runs again
                info = client.external_run_heartbeat(resume)
            if info.state in TERMINAL_STATES:
                raise RunyardError(
                    f"run {resume} is {info.state.value}; it cannot be resumed. Start a new one "
                    "with runyard.init(project=..., name=...)"
                )
        else:
            if not project or not name:
                raise RunyardError("runyard.init needs project= and name= (or resume=<run id>)")
            info = client.create_external_run(
                ExternalRunCreate(project=project, name=name, config=config or {}, tags=tags or [])
            )
        spool = Spool.claim(root, info.id, client.url)
        if spool is None:
            raise RunyardError(
                f"run {info.id} is being logged by another live process on this machine"
            )
        seqs = [s for s in (info.last_seq, spool.max_seq()) if s is not None]
        run = Run(
            client,
            info,
            spool,
            max(seqs) + 1 if seqs else 0,
            flush_interval=flush_interval,
            heartbeat_interval=heartbeat_interval,
        )
    except BaseException:
        client.close()
        raise
    if resume is not None and config:
        run.log_params(config)
    return run


def recover_spools(client: Client, root: Path, keep: str | None = None) -> list[str]:
    """Sends what crashed processes left in spools for this server, and ends their runs (as
    they asked, or failed if they never did) — except run `keep`, which is resumed: its spool
    is only sent. Returns the runs whose spools were emptied."""
    emptied = []
    for spool in orphans(root, client.url):
        record = spool.record()
        run_id = spool.directory.name
        done = False
        try:
            if deliver(client, run_id, spool, Delivery()):
                if run_id != keep:
                    ending = (record.finish if record else None) or ExternalFinish(
                        state="failed", reason=CRASHED
                    )
                    _end(client, run_id, ending)
                emptied.append(run_id)
                done = run_id != keep
        except (ConnectionFailed, ApiError) as exc:
            log.warning("could not deliver the spool of run %s yet: %s", run_id, exc)
        finally:
            spool.release(delete=done)
    return emptied


def _end(client: Client, run_id: str, ending: ExternalFinish) -> None:
    try:
        client.finish_external_run(run_id, ending)
    except ApiError as exc:
        if exc.status not in (404, 409):  # gone, or ended already: nothing left to do
            raise
