"""Running one node of a run attempt: the body of the Celery task, without Celery.

Re-checks that the assignment is still current (so redelivered or stale tasks are no-ops),
prepares the working directory (code bundle, resume checkpoint), starts the child
(`python -m worker.run_child`) in its own process group, turns its output and notices into
events and uploads, and reports the final state.
"""

import json
import logging
import os
import sys
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

import worker as worker_package
from runyard.schemas import RunAssignment, RunState, assignment_key
from worker.child_plan import TENSORBOARD_DIR, ChildPlan
from worker.errors import RunyardWorkerError
from worker.events import EventPublisher
from worker.notices import (
    CheckpointNotice,
    ExportNotice,
    FailureNotice,
    MetricsNotice,
    NoticeAdapter,
)
from worker.process_group import ChildExit, RunProcess, child_environment
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.tensorboard_files import pack_event_files
from worker.uploads import Upload, Uploader

log = logging.getLogger(__name__)

# Several nodes of one multi-node attempt publish to the same (run, attempt); each node numbers
# its events in its own range so their seq never collide.
NODE_SEQ_STRIDE = 1 << 40

_OUTCOME_STATE = {
    "completed": RunState.completed,
    "failed": RunState.failed,
    "killed": RunState.failed,
    "canceled": RunState.canceled,
}


class RunningRuns:
    """The runs this worker holds right now, by run id (for cancels and heartbeats)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, RunExecution] = {}
        self._canceled: set[str] = set()

    def add(self, execution: "RunExecution") -> bool:
        """False when a cancel for this run arrived before it started."""
        with self._lock:
            if execution.assignment.run_id in self._canceled:
                return False
            self._runs[execution.assignment.run_id] = execution
            return True

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def cancel(self, run_id: str, reason: str, attempt: int | None = None) -> bool:
        with self._lock:
            execution = self._runs.get(run_id)
            if execution is None:
                self._canceled.add(run_id)  # the task may still be on its way
                return False
        if attempt is not None and attempt != execution.assignment.attempt:
            return False
        threading.Thread(target=execution.cancel, args=(reason,), daemon=True).start()
        return True

    def snapshot(self) -> dict[str, list[str]]:
        """Run id -> slots held, for heartbeats."""
        with self._lock:
            return {rid: list(e.assignment.slots) for rid, e in self._runs.items()}


def assignment_is_current(client: "redis.Redis", prefix: str, assignment: RunAssignment) -> bool:
    raw = client.get(assignment_key(prefix, assignment.run_id))
    if raw is None:
        return False
    current = json.loads(raw)
    return current.get("attempt") == assignment.attempt and assignment.worker_name in current.get(
        "workers", []
    )


def _safe_extract(archive: Path, target: Path) -> None:
    """Unpack a code bundle; the "data" filter refuses absolute paths, `..` and links that
    escape the target (the server checks too: defence in depth)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as bundle:
        bundle.extractall(target, filter="data")


@dataclass
class RunExecution:
    assignment: RunAssignment
    settings: WorkerSettings
    api: WorkerApi
    publisher: EventPublisher
    workdir: Path
    child_argv: list[str] | None = None
    """Overrides `python -m worker.run_child plan.json` (tests run small scripts)."""
    launcher: Path | None = None
    """The warm launcher's socket (forks the child instead of starting Python anew)."""
    _process: RunProcess | None = None
    _failure: FailureNotice | None = None
    _cancel_reason: str | None = None
    _uploader: Uploader | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self, reason: str) -> None:
        with self._lock:
            self._cancel_reason = reason
            process = self._process
        if process is not None:
            process.cancel(self.settings.cancel_grace_seconds, reason)

    def run(self) -> ChildExit:
        a = self.assignment
        self._uploader = Uploader(self.api)
        try:
            plan = self._prepare()
        except (RunyardWorkerError, OSError, tarfile.TarError) as exc:
            result = ChildExit("failed", -1, None, f"could not prepare the run: {exc}")
            self._finish(result)
            return result
        argv = self.child_argv or [
            self.settings.python or sys.executable,
            "-m",
            "worker.run_child",
            str(self.workdir / "plan.json"),
        ]
        self.workdir.joinpath("plan.json").write_text(plan.model_dump_json(indent=2))
        process = RunProcess(
            argv,
            cwd=self.workdir,
            env=child_environment(
                slots=a.slots,
                use_gpus=a.spec.resources.gpus_per_node > 0,
                run_id=a.run_id,
                attempt=a.attempt,
                server_url=a.server_url,
                run_token=a.run_token,
                extra=self._distributed_env(),
            ),
            on_line=lambda stream, line: self.publisher.log(stream, [line]),
            on_notice=self._on_notice,
            launcher=None if self.child_argv else self.launcher,
            launcher_argv=[str(self.workdir / "plan.json")],
        )
        with self._lock:
            if self._cancel_reason is not None:
                result = ChildExit("canceled", -1, None, self._cancel_reason)
                self._finish(result)
                return result
            self._process = process
            try:
                process.start()
            except OSError as exc:
                result = ChildExit("failed", -1, None, f"could not start the run's process: {exc}")
                self._finish(result)
                return result
            if a.node_rank == 0:
                self.publisher.state(RunState.running, reason=f"started on {a.worker_name}")
        stop_flusher = threading.Event()
        flusher = threading.Thread(target=self._flush_every_second, args=(stop_flusher,))
        flusher.start()
        try:
            result = process.wait()
        finally:
            stop_flusher.set()
            flusher.join()
        if result.outcome == "failed" and self._failure is not None:
            result = ChildExit(
                "failed", result.returncode, None, self._failure.reason, self._failure.traceback
            )
        self._finish(result)
        return result

    def _flush_every_second(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            self.publisher.flush()

    def _distributed_env(self) -> dict[str, str]:
        a = self.assignment
        pythonpath = [str(Path(worker_package.__file__).resolve().parents[1])]
        if os.environ.get("PYTHONPATH"):
            pythonpath.append(os.environ["PYTHONPATH"])
        env = {"PYTHONPATH": os.pathsep.join(pythonpath)}
        if a.num_nodes > 1:
            env |= {
                "MASTER_ADDR": a.master_addr or "127.0.0.1",
                "MASTER_PORT": str(a.master_port or 29500),
                "NODE_RANK": str(a.node_rank),
                "NUM_NODES": str(a.num_nodes),
            }
        return env

    def _prepare(self) -> ChildPlan:
        a = self.assignment
        self.workdir.mkdir(parents=True, exist_ok=True)
        code_dir = resume = None
        if a.bundle_url:
            archive = self.api.download(a.bundle_url, self.workdir / "bundle.tar.gz")
            code_dir = self.workdir / "code"
            _safe_extract(archive, code_dir)
        if a.resume_checkpoint_url:
            resume = self.api.download(a.resume_checkpoint_url, self.workdir / "resume.ckpt")
        return ChildPlan(
            run_id=a.run_id,
            attempt=a.attempt,
            spec=a.spec,
            code_dir=str(code_dir) if code_dir else None,
            resume_checkpoint=str(resume) if resume else None,
            gpus=a.spec.resources.gpus_per_node,
            node_rank=a.node_rank,
            num_nodes=a.num_nodes,
        )

    def _on_notice(self, raw: dict[str, Any]) -> None:
        try:
            notice = NoticeAdapter.validate_python(raw)
        except ValueError:
            log.warning("run %s sent a malformed notice: %r", self.assignment.run_id, raw)
            return
        if isinstance(notice, MetricsNotice):
            self.publisher.metrics(notice.points)
        elif isinstance(notice, FailureNotice):
            self._failure = notice
        elif isinstance(notice, CheckpointNotice):
            self._upload_checkpoint(notice)
        elif isinstance(notice, ExportNotice):
            self._upload_export(notice)

    def _upload_checkpoint(self, notice: CheckpointNotice) -> None:
        assert self._uploader is not None
        path = self.workdir / notice.path

        def announce(record: dict[str, Any]) -> None:
            self.publisher.checkpoint(str(record["id"]), notice.epoch, notice.step, notice.metrics)
            path.unlink(missing_ok=True)  # the outbox copy; the server has it now

        self._uploader.submit(
            Upload(
                run_id=self.assignment.run_id,
                kind="checkpoints",
                path=path,
                fields={
                    "attempt": str(self.assignment.attempt),
                    "epoch": str(notice.epoch),
                    "step": str(notice.step),
                    "metrics": notice.metrics,
                    "is_last": "true" if notice.is_last else "false",
                },
                on_done=announce,
            )
        )

    def _upload_export(self, notice: ExportNotice) -> None:
        assert self._uploader is not None
        path = self.workdir / notice.path
        self._uploader.submit(
            Upload(
                run_id=self.assignment.run_id,
                kind="exports",
                path=path,
                fields={
                    "format": notice.format,
                    "input_signature": notice.input_signature,
                    "max_abs_diff": str(notice.max_abs_diff),
                },
                on_done=lambda record: self.publisher.log(
                    "system", [f"exported {notice.format}: {record.get('id')}"]
                ),
            )
        )

    def _upload_tensorboard(self) -> None:
        """The run's TensorBoard event files, from rank 0's node, whatever the outcome."""
        assert self._uploader is not None
        archive = pack_event_files(
            self.workdir / TENSORBOARD_DIR,
            self.workdir / "tensorboard.tar.gz",
        )
        if archive is None:
            return
        self._uploader.submit(
            Upload(
                run_id=self.assignment.run_id,
                kind="tensorboard",
                path=archive,
                fields={"attempt": str(self.assignment.attempt)},
                on_done=lambda _record: self.publisher.log(
                    "system", ["stored the TensorBoard event files (runyard tensorboard RUN)"]
                ),
                required=False,
            )
        )

    def _finish(self, result: ChildExit) -> None:
        assert self._uploader is not None
        if self.assignment.node_rank == 0:
            self._upload_tensorboard()
        uploaded = self._uploader.close(timeout=300)
        state = _OUTCOME_STATE[result.outcome]
        reason = result.reason
        if state == RunState.completed and not uploaded:
            state = RunState.failed
            reason = "training finished but uploads failed: " + "; ".join(
                self._uploader.failures or ["timed out"]
            )
        if self.assignment.node_rank == 0:
            self.publisher.state(state, reason=reason, traceback=result.traceback)
        self.publisher.flush()


@dataclass
class TaskContext:
    """What the Celery task needs, built once by the worker process."""

    settings: WorkerSettings
    redis: "redis.Redis"
    api: WorkerApi
    running: RunningRuns
    child_argv: Callable[[RunAssignment], list[str]] | None = None
    launcher: Path | None = None


def execute(payload: dict[str, Any], ctx: TaskContext) -> str:
    """The run task: returns the outcome, or "skipped" for a stale or duplicate delivery."""
    assignment = RunAssignment.model_validate(payload)
    s = ctx.settings
    if not assignment_is_current(ctx.redis, s.redis_prefix, assignment):
        log.info(
            "skipping run %s attempt %s: no longer assigned here",
            assignment.run_id,
            assignment.attempt,
        )
        return "skipped"
    publisher = EventPublisher(
        ctx.redis,
        prefix=s.redis_prefix,
        spool_dir=s.spool_dir.resolve(),
        run_id=assignment.run_id,
        attempt=assignment.attempt,
        metric_batch_size=s.metric_batch_size,
        seq_start=assignment.node_rank * NODE_SEQ_STRIDE,
    )
    execution = RunExecution(
        assignment=assignment,
        settings=s,
        api=ctx.api,
        publisher=publisher,
        workdir=(s.work_dir / assignment.run_id / f"attempt-{assignment.attempt}").resolve(),
        child_argv=ctx.child_argv(assignment) if ctx.child_argv else None,
        launcher=ctx.launcher,
    )
    if not ctx.running.add(execution):
        publisher.state(RunState.canceled, reason="canceled before it started")
        publisher.flush()
        return "canceled"
    try:
        return execution.run().outcome
    finally:
        ctx.running.remove(assignment.run_id)
