"""Running one node of a run attempt: the body of the Celery task, without Celery.

Takes the node (the server refuses an attempt that has ended, so a redelivered or stale task
is a no-op), prepares the working directory (code bundle, resume checkpoint), starts the child
(`python -m worker.run_child`), turns its output and notices into events and uploads, and
reports the final state. The node stays in the worker's reports from before it is taken until
its processes are gone and its uploads are done, which is what lets the server free its slots.
"""

import logging
import os
import signal
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import redis

import worker as worker_package
from runyard.schemas import HeldAttempt, RunAssignment, RunState, WorkerReport
from worker.child_plan import TENSORBOARD_DIR, ChildPlan
from worker.errors import AttemptEnded, RunyardWorkerError, ServerUnreachable
from worker.events import EventPublisher, Outbox
from worker.notices import (
    CheckpointNotice,
    ExportNotice,
    FailureNotice,
    MetricsNotice,
    NoticeAdapter,
    PreemptedNotice,
)
from worker.process_group import ChildExit, RunProcess, child_environment
from worker.sandbox.errors import SandboxError
from worker.sandbox.exits import Limits
from worker.sandbox.files import open_inside, relative_inside
from worker.server_api import WorkerApi
from worker.settings import WorkerSettings
from worker.system_metrics import SystemSampler
from worker.tensorboard_files import pack_event_files
from worker.uploads import Uploader, UploadJob

if TYPE_CHECKING:
    from worker.sandbox.pool import SandboxPool
    from worker.sandbox.process import SandboxProcess

log = logging.getLogger(__name__)

# Several nodes of one multi-node attempt publish to the same (run, attempt); each node numbers
# its events in its own range so their seq never collide.
NODE_SEQ_STRIDE = 1 << 40

NOT_ISOLATED = (
    "this run is not isolated (its worker runs with RUNYARD_WORKER_ISOLATION=none): its code "
    "can read other runs' files and the worker's credentials"
)

_OUTCOME_STATE = {
    "completed": RunState.completed,
    "failed": RunState.failed,
    "killed": RunState.failed,
    "canceled": RunState.canceled,
}


class RunningRuns:
    """The attempt nodes this worker process holds, by fence: what its reports list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, RunExecution] = {}
        self._lost: dict[int, HeldAttempt] = {}
        self._finished: set[int] = set()
        self._canceled: dict[str, str] = {}
        """Run id -> reason, for cancels that arrive before the task does."""

    def add(self, execution: "RunExecution") -> bool:
        """False for a fence this process holds or has finished already (a redelivery)."""
        fence = execution.assignment.fence
        with self._lock:
            if fence in self._runs or fence in self._finished or fence in self._lost:
                return False
            self._runs[fence] = execution
            return True

    def remove(self, fence: int, *, lost: bool = False) -> None:
        with self._lock:
            execution = self._runs.pop(fence, None)
            self._finished.add(fence)
            if lost and execution is not None:
                self._lost[fence] = execution.held

    def canceled_before_start(self, run_id: str) -> str | None:
        with self._lock:
            return self._canceled.pop(run_id, None)

    def executions(self) -> list["RunExecution"]:
        with self._lock:
            return list(self._runs.values())

    def cancel(self, run_id: str, reason: str, attempt: int | None = None) -> bool:
        with self._lock:
            matching = [e for e in self._runs.values() if e.assignment.run_id == run_id]
            if not matching:
                self._canceled[run_id] = reason  # the task may still be on its way
                return False
        for execution in matching:
            if attempt is None or attempt == execution.assignment.attempt:
                threading.Thread(target=execution.cancel, args=(reason,), daemon=True).start()
        return True

    def preempt_fence(self, fence: int, reason: str) -> None:
        with self._lock:
            execution = self._runs.get(fence)
        if execution is not None:
            execution.preempt(reason)

    def stop_fence(self, fence: int, reason: str) -> None:
        """The attempt has ended (superseded or canceled): stop its node here at once."""
        with self._lock:
            execution = self._runs.get(fence)
            self._lost.pop(fence, None)
        if execution is not None:
            threading.Thread(target=execution.cancel, args=(reason,), daemon=True).start()

    def report(self, incarnation: str) -> WorkerReport:
        with self._lock:
            return WorkerReport(
                incarnation=incarnation,
                attempts=[e.held for e in self._runs.values()],
                lost=list(self._lost.values()),
            )

    def slots(self) -> dict[str, list[str]]:
        """Run id -> slots held, for the worker's log."""
        with self._lock:
            return {e.assignment.run_id: list(e.assignment.slots) for e in self._runs.values()}


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
    uploader: Uploader
    workdir: Path
    child_argv: list[str] | None = None
    """Overrides `python -m worker.run_child plan.json` (tests run small scripts)."""
    launcher: Path | None = None
    """The warm launcher's socket (forks the child instead of starting Python anew); used
    only without isolation."""
    sandboxes: "SandboxPool | None" = None
    """Where each run gets its sandbox (None: RUNYARD_WORKER_ISOLATION=none)."""
    _process: "RunProcess | SandboxProcess | None" = None
    _private: Path = field(default_factory=Path)
    """Where the worker keeps its own files for the run (the run cannot write there)."""
    _sandbox: "SandboxProcess | None" = None
    _failure: FailureNotice | None = None
    _cancel_reason: str | None = None
    _lost: bool = False
    _preempt_reason: str | None = None
    _preempted: bool = False
    """It stopped for the preemption (checkpointed at a step, or killed after the grace)."""
    _exited: threading.Event = field(default_factory=threading.Event)
    _lease_until: float = field(default_factory=lambda: float("inf"))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def held(self) -> HeldAttempt:
        a = self.assignment
        return HeldAttempt(run_id=a.run_id, fence=a.fence, node_rank=a.node_rank)

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def preempted(self) -> bool:
        return self._preempted and self._preempt_reason is not None

    def cancel(self, reason: str) -> None:
        with self._lock:
            if self._cancel_reason is not None:
                return
            self._cancel_reason = reason
            process = self._process
        if process is not None:
            process.cancel(self.settings.cancel_grace_seconds, reason)

    def preempt(self, reason: str) -> None:
        """The scheduler wants the slots: checkpoint at the next step boundary and stop (the
        trainer's preemption signal), or be stopped after the grace period; either way the
        attempt goes back to the queue and resumes from its last checkpoint."""
        with self._lock:
            if self._preempt_reason is not None or self._cancel_reason is not None:
                return
            self._preempt_reason = reason
            process = self._process
        self.publisher.log("system", [f"[runyard] {reason}: checkpointing at the next step"])
        if process is None:
            self._preempted = True
            self.cancel(reason)  # not started yet: it will not start
            return
        process.signal_main(signal.SIGUSR1)
        threading.Thread(target=self._stop_after_grace, args=(process, reason), daemon=True).start()

    def _stop_after_grace(self, process: "RunProcess | SandboxProcess", reason: str) -> None:
        if self._exited.wait(self.settings.preempt_grace_seconds):
            return  # it stopped by itself (at its checkpoint, or it had finished anyway)
        self.publisher.log(
            "system",
            [
                f"[runyard] did not stop within {self.settings.preempt_grace_seconds:.0f}s of "
                "the preemption request; stopping it (it resumes from its last checkpoint)"
            ],
        )
        self._preempted = True
        process.cancel(self.settings.cancel_grace_seconds, reason)

    def renew_lease(self, now: float) -> None:
        """The worker reached the server or Redis: the run may go on for another lease (the
        sandbox enforces it too, which covers a worker that is paused or dead)."""
        self._lease_until = now + self.assignment.lease_seconds
        if self._sandbox is not None:
            self._sandbox.renew_lease(self.assignment.lease_seconds)

    def lease_lapsed(self, now: float) -> bool:
        return now > self._lease_until

    def give_up(self, reason: str) -> None:
        """Stop without finishing (the lease lapsed): reported lost, so the scheduler requeues
        it, instead of a terminal state."""
        self._lost = True
        self.publisher.log("system", [f"[runyard] stopping this attempt: {reason}"])
        self.cancel(reason)

    def run(self) -> ChildExit:
        self.renew_lease(time.monotonic())
        try:
            result = self._run()
        finally:
            if self._sandbox is not None:
                self._sandbox.release()
        return result

    def _run(self) -> ChildExit:
        a = self.assignment
        try:
            code_dir, downloads = self._directories()
            plan = self._prepare(code_dir, downloads)
        except (RunyardWorkerError, SandboxError, OSError, tarfile.TarError) as exc:
            result = ChildExit("failed", -1, None, f"could not prepare the run: {exc}")
            self._finish(result)
            return result
        plan_path = self.workdir / "plan.json"
        plan_path.write_text(plan.model_dump_json(indent=2))
        env = child_environment(
            slots=a.slots,
            use_gpus=a.spec.resources.gpus_per_node > 0,
            run_id=a.run_id,
            attempt=a.attempt,
            server_url=a.server_url,
            run_token=a.run_token,
            extra=self._distributed_env(),
        )
        on_line = lambda stream, line: self.publisher.log(stream, [line])  # noqa: E731
        with self._lock:
            if self._cancel_reason is not None:
                result = ChildExit("canceled", -1, None, self._cancel_reason)
                self._finish(result)
                return result
            try:
                self._process = self._start(plan_path, env, on_line)
            except (OSError, SandboxError) as exc:
                result = ChildExit("failed", -1, None, f"could not start the run's process: {exc}")
                self._finish(result)
                return result
            if a.node_rank == 0:
                self.publisher.state(RunState.running, reason=f"started on {a.worker_name}")
        process = self._process
        stop_flusher = threading.Event()
        flusher = threading.Thread(target=self._flush_every_second, args=(stop_flusher,))
        flusher.start()
        sampler = self._system_sampler(process)
        try:
            result = process.wait()
        finally:
            self._exited.set()
            if sampler is not None:
                sampler.stop()
            stop_flusher.set()
            flusher.join()
        if self._sandbox is not None and self._sandbox.lease_expired:
            self._lost = True  # the scheduler requeues it; it did not fail
        if result.outcome == "failed" and self._failure is not None:
            result = ChildExit(
                "failed", result.returncode, None, self._failure.reason, self._failure.traceback
            )
        self._finish(result)
        return result

    def _directories(self) -> tuple[Path, Path]:
        """(where the bundle unpacks, where downloads land). A sandbox has its own
        directories: a work directory the run owns, a code directory it only reads, and a
        root-only one for the worker's files."""
        if self.sandboxes is None:
            self.publisher.log("system", [f"[runyard] WARNING: {NOT_ISOLATED}"])
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._private = self.workdir
            return self.workdir / "code", self.workdir
        self._sandbox = self.sandboxes.acquire()
        self.workdir = self._sandbox.work_dir
        self._private = self._sandbox.root
        self.publisher.log("system", [f"[runyard] {self._sandbox.describe()}"])
        return self._sandbox.code_dir, self._sandbox.root

    def _start(
        self, plan: Path, env: dict[str, str], on_line: Callable[[Any, str], None]
    ) -> "RunProcess | SandboxProcess":
        if self._sandbox is not None:
            resources = self.assignment.spec.resources
            self._sandbox.start(
                plan=None if self.child_argv else plan,
                argv=self.child_argv,
                env=env,
                on_line=on_line,
                on_notice=self._on_notice,
                limits=Limits(memory=resources.memory, processes=resources.processes),
                lease_seconds=self.assignment.lease_seconds,
            )
            return self._sandbox
        process = RunProcess(
            self.child_argv
            or [self.settings.python or sys.executable, "-m", "worker.run_child", str(plan)],
            cwd=self.workdir,
            env=env,
            on_line=on_line,
            on_notice=self._on_notice,
            launcher=None if self.child_argv else self.launcher,
            launcher_argv=[str(plan)],
        )
        process.start()
        return process

    def _system_sampler(self, process: "RunProcess | SandboxProcess") -> SystemSampler | None:
        """Samples the run's processes (and its GPUs) into its system/* series."""
        if self.settings.system_metrics_seconds <= 0:
            return None
        a = self.assignment
        gpus = [int(s) for s in a.slots if s.isdigit()] if a.spec.resources.gpus_per_node else []
        return SystemSampler(
            pid=lambda: process.pid,
            publish=self.publisher.metrics,
            interval=self.settings.system_metrics_seconds,
            gpus=gpus,
            prefix="system/" if a.node_rank == 0 else f"system/node{a.node_rank}/",
        ).start()

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

    def _prepare(self, code_dir: Path, downloads: Path) -> ChildPlan:
        a = self.assignment
        unpacked = resume = None
        if a.bundle_url:
            archive = self.api.download(a.bundle_url, downloads / "bundle.tar.gz")
            _safe_extract(archive, code_dir)
            archive.unlink(missing_ok=True)
            unpacked = code_dir
        if a.resume_checkpoint_url:
            resume = self.api.download(a.resume_checkpoint_url, self.workdir / "resume.ckpt")
        return ChildPlan(
            run_id=a.run_id,
            attempt=a.attempt,
            spec=a.spec,
            code_dir=str(unpacked) if unpacked else None,
            resume_checkpoint=str(resume) if resume else None,
            gpus=a.spec.resources.gpus_per_node,
            node_rank=a.node_rank,
            num_nodes=a.num_nodes,
            ends_paused=a.ends_paused,
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
        elif isinstance(notice, PreemptedNotice):
            self._preempted = True

    def _open(self, named: str) -> BinaryIO | None:
        """A file the child named in a notice, opened only if it is a regular file inside the
        run's directory (user code writes the notices: it must not make the worker upload the
        worker's own files, by path or by symlink)."""
        try:
            return open_inside(self.workdir, named)
        except SandboxError as exc:
            log.warning("run %s: %s", self.assignment.run_id, exc)
            self.publisher.log("system", [f"[runyard] not uploaded: {exc}"])
            return None

    def _upload_checkpoint(self, notice: CheckpointNotice) -> None:
        # The points logged before this checkpoint go to the journal (disk) before the
        # checkpoint can reach the server: a resumed attempt starts after it and never logs
        # them again, so they must not be lost with this worker.
        self.publisher.flush()
        source = self._open(notice.path)
        if source is None:
            return
        name = Path(notice.path).name

        def announce(record: dict[str, Any]) -> None:
            self.publisher.checkpoint(str(record["id"]), notice.epoch, notice.step, notice.metrics)

        self.uploader.submit(
            UploadJob(
                run_id=self.assignment.run_id,
                fence=self.assignment.fence,
                kind="checkpoints",
                filename=name,
                fields={
                    "attempt": str(self.assignment.attempt),
                    "epoch": str(notice.epoch),
                    "step": str(notice.step),
                    "metrics": notice.metrics,
                    "is_last": "true" if notice.is_last else "false",
                },
            ),
            source,
            on_done=announce,
        )
        # The outbox copy: the upload spool holds it now.
        (self.workdir / relative_inside(self.workdir, notice.path)).unlink(missing_ok=True)

    def _upload_export(self, notice: ExportNotice) -> None:
        source = self._open(notice.path)
        if source is None:
            return
        self.uploader.submit(
            UploadJob(
                run_id=self.assignment.run_id,
                fence=self.assignment.fence,
                kind="exports",
                filename=Path(notice.path).name,
                fields={
                    "format": notice.format,
                    "input_signature": notice.input_signature,
                    "max_abs_diff": str(notice.max_abs_diff),
                },
            ),
            source,
            on_done=lambda record: self.publisher.log(
                "system", [f"exported {notice.format}: {record.get('id')}"]
            ),
        )

    def _upload_tensorboard(self) -> None:
        """The run's TensorBoard event files, from rank 0's node, whatever the outcome."""
        archive = self._private / "tensorboard.tar.gz"  # never in the run's own directory
        if pack_event_files(self.workdir, TENSORBOARD_DIR, archive) is None:
            return
        self.uploader.submit(
            UploadJob(
                run_id=self.assignment.run_id,
                fence=self.assignment.fence,
                kind="tensorboard",
                filename=archive.name,
                fields={"attempt": str(self.assignment.attempt)},
                required=False,
            ),
            archive.open("rb"),
            on_done=lambda _record: self.publisher.log(
                "system", ["stored the TensorBoard event files (runyard tensorboard RUN)"]
            ),
        )
        archive.unlink(missing_ok=True)  # the spool holds its copy

    def _finish(self, result: ChildExit) -> None:
        fence = self.assignment.fence
        if self.assignment.node_rank == 0 and not self._lost:
            self._upload_tensorboard()
        uploaded = self.uploader.wait(fence, timeout=300)
        failures = self.uploader.failures(fence)
        self.uploader.forget(fence)
        if self._lost:
            self.publisher.close()
            return  # no terminal state: the scheduler requeues the attempt
        if self._preempted and self._preempt_reason is not None:
            # Back to the queue (its checkpoint is uploaded), not a failure or a restart.
            if self.assignment.node_rank == 0:
                self.publisher.state(RunState.queued, reason=self._preempt_reason)
            self.publisher.close()
            return
        state = _OUTCOME_STATE[result.outcome]
        reason = result.reason
        if state == RunState.completed and not uploaded:
            state = RunState.failed
            reason = "training finished but uploads failed: " + "; ".join(failures or ["timed out"])
        elif state == RunState.completed and self.assignment.ends_paused:
            # The end of an ASHA rung, its checkpoint uploaded: the search promotes or stops it.
            state = RunState.paused
            epochs = self.assignment.spec.trainer.max_epochs
            trained = f" ({epochs} epochs)" if epochs else ""
            reason = f"reached the end of its rung{trained}; waiting for ASHA"
        if self.assignment.node_rank == 0:
            self.publisher.state(state, reason=reason, traceback=result.traceback)
        self.publisher.close()


@dataclass
class TaskContext:
    """What the Celery task needs, built once by the worker process."""

    settings: WorkerSettings
    redis: "redis.Redis"
    api: WorkerApi
    running: RunningRuns
    outbox: Outbox
    uploader: Uploader
    incarnation: str
    child_argv: Callable[[RunAssignment], list[str]] | None = None
    launcher: Path | None = None
    sandboxes: "SandboxPool | None" = None


def _accept(ctx: TaskContext, assignment: RunAssignment) -> bool:
    """Takes the node at the server; False when the attempt has ended. Retries while the
    server is away, for as long as the scheduler would wait before giving the run elsewhere."""
    deadline = time.monotonic() + ctx.settings.accept_timeout_seconds
    backoff = 0.5
    while True:
        try:
            ctx.api.accept(assignment.fence, assignment.node_rank, ctx.incarnation)
            return True
        except AttemptEnded as exc:
            log.info("not starting run %s: %s", assignment.run_id, exc)
            return False
        except ServerUnreachable as exc:
            if time.monotonic() > deadline:
                log.warning("giving up run %s: %s", assignment.run_id, exc)
                return False
            time.sleep(backoff)  # backoff between retries, not synchronisation
            backoff = min(backoff * 2, 5.0)
        except RunyardWorkerError as exc:
            log.warning("not starting run %s: %s", assignment.run_id, exc)
            return False


def execute(payload: dict[str, Any], ctx: TaskContext) -> str:
    """The run task: returns the outcome, "skipped" for a stale or duplicate delivery, or
    "lost" when the worker gave the attempt up."""
    assignment = RunAssignment.model_validate(payload)
    s = ctx.settings
    if assignment.worker_name != s.name:
        log.warning("a task for worker %s reached %s; ignored", assignment.worker_name, s.name)
        return "skipped"
    publisher = EventPublisher(
        ctx.outbox,
        run_id=assignment.run_id,
        attempt=assignment.attempt,
        fence=assignment.fence,
        worker=s.name,
        metric_batch_size=s.metric_batch_size,
        seq_start=assignment.node_rank * NODE_SEQ_STRIDE,
    )
    execution = RunExecution(
        assignment=assignment,
        settings=s,
        api=ctx.api,
        publisher=publisher,
        uploader=ctx.uploader,
        workdir=(s.work_dir / assignment.run_id / f"attempt-{assignment.attempt}").resolve(),
        child_argv=ctx.child_argv(assignment) if ctx.child_argv else None,
        launcher=ctx.launcher,
        sandboxes=ctx.sandboxes,
    )
    # Listed in reports before it is taken, so no report taken after the server recorded the
    # taking can leave it out while it runs.
    if not ctx.running.add(execution):
        publisher.close()
        return "skipped"
    outcome = "skipped"
    try:
        if not _accept(ctx, assignment):
            publisher.close()
            return outcome
        early = ctx.running.canceled_before_start(assignment.run_id)
        if early is not None:
            execution.cancel(early)
        outcome = execution.run().outcome
        if execution.lost:
            return "lost"
        return "preempted" if execution.preempted else outcome
    finally:
        ctx.running.remove(assignment.fence, lost=execution.lost)
