"""A run's child process: its own process group, slots, working directory and a scrubbed
environment; output streamed line by line; cancel by group; exit classified.

The child gets a one-way "notice" pipe (file descriptor number in RUNYARD_NOTICE_FD) on which
it writes JSON lines (metrics, checkpoints); the parent turns them into events. User code
never sees the worker token, the database URL or the Redis URL.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

# Variables a child may inherit from the worker's environment; everything else is dropped.
INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "NCCL_DEBUG",
    "NCCL_SOCKET_IFNAME",
    "OMP_NUM_THREADS",
)

Outcome = Literal["completed", "failed", "killed", "canceled"]
LineSink = Callable[[Literal["stdout", "stderr"], str], None]
NoticeSink = Callable[[dict[str, Any]], None]


def child_environment(
    *,
    slots: Sequence[str],
    use_gpus: bool,
    run_id: str,
    attempt: int,
    server_url: str,
    run_token: str,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of a run's child, built from an allow-list."""
    source = os.environ if base is None else base
    env = {k: source[k] for k in INHERITED_ENV if k in source}
    env.update(
        {
            # A CPU-only run still holds a slot but must not see (and grab memory on) a GPU.
            "CUDA_VISIBLE_DEVICES": ",".join(slots) if use_gpus else "",
            "PYTHONUNBUFFERED": "1",  # so log lines arrive as they are printed
            "RUNYARD_RUN_ID": run_id,
            "RUNYARD_ATTEMPT": str(attempt),
            "RUNYARD_SERVER_URL": server_url,
            "RUNYARD_RUN_TOKEN": run_token,
        }
    )
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class ChildExit:
    outcome: Outcome
    returncode: int
    signal: int | None
    reason: str
    traceback: str | None = None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_traceback(stderr_tail: Sequence[str]) -> str | None:
    lines = list(stderr_tail)
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call")]
    if not starts:
        return None
    return "\n".join(lines[starts[-1] :])


def pump_lines(
    pipe: IO[bytes],
    stream: Literal["stdout", "stderr"],
    on_line: LineSink,
    stderr_tail: deque[str],
) -> None:
    """Hand each line of `pipe` to `on_line` until EOF, keeping stderr's tail for the exit
    classification."""
    with pipe:
        for raw in pipe:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if stream == "stderr":
                stderr_tail.append(line)
            on_line(stream, line)


def pump_notices(pipe: IO[bytes], on_notice: NoticeSink | None) -> None:
    """Hand each JSON object line of the notice pipe to `on_notice` until EOF."""
    with pipe:
        for raw in pipe:
            try:
                notice = json.loads(raw)
            except ValueError:
                continue  # a torn line from a crashing child carries nothing usable
            if on_notice is not None and isinstance(notice, dict):
                on_notice(notice)


def classify_exit(
    returncode: int, stderr_tail: Sequence[str], *, canceled: str | None = None
) -> ChildExit:
    """What a child's exit means for its run. `canceled`: the cancel's reason, when the run
    was canceled (whatever the exit code)."""
    if canceled is not None:
        return ChildExit("canceled", returncode, None, canceled)
    if returncode == 0:
        return ChildExit("completed", 0, None, "completed")
    if returncode < 0:
        number = -returncode
        name = _signal_name(number)
        hint = (
            " (often the out-of-memory killer; lower the batch size or request more memory)"
            if number == signal.SIGKILL
            else ""
        )
        return ChildExit("killed", returncode, number, f"killed by {name} ({number}){hint}", None)
    traceback = _last_traceback(stderr_tail)
    if traceback:
        reason = traceback.splitlines()[-1]
    else:
        tail = [line for line in stderr_tail if line.strip()]
        reason = f"exited with status {returncode}" + (f": {tail[-1]}" if tail else "")
    return ChildExit("failed", returncode, None, reason, traceback)


class _LaunchedChild:
    """A child forked by the warm launcher: what RunProcess needs of a Popen (pid, wait)."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._reader = conn.makefile("rb")
        self.pid: int = json.loads(self._reader.readline())["pid"]
        self.returncode: int | None = None
        self._done = threading.Event()
        threading.Thread(target=self._await_exit, name="launched-exit", daemon=True).start()

    def _await_exit(self) -> None:
        line = self._reader.readline()
        # A launcher that died takes its children's exit codes with it: report a SIGKILL.
        self.returncode = json.loads(line)["returncode"] if line else -signal.SIGKILL
        self._reader.close()
        self._conn.close()
        self._done.set()

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(["launched child"], timeout or 0)
        assert self.returncode is not None
        return self.returncode


def _launch_warm(
    launcher: Path, argv: Sequence[str], cwd: Path, env: Mapping[str, str], fds: Sequence[int]
) -> _LaunchedChild | None:
    """Ask the warm launcher to fork the child; None when no launcher answers."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(launcher))
    except OSError:
        conn.close()
        return None
    env_read, env_write = os.pipe()
    try:
        request = json.dumps({"argv": list(argv), "cwd": str(cwd)}).encode() + b"\n"
        socket.send_fds(conn, [request], [*fds, env_read])
    except OSError:
        conn.close()
        os.close(env_write)
        return None
    finally:
        os.close(env_read)
    with os.fdopen(env_write, "wb") as sink:
        sink.write(json.dumps(dict(env)).encode())
    try:
        return _LaunchedChild(conn)
    except (OSError, ValueError, KeyError):
        conn.close()
        return None


class RunProcess:
    """One child process group. `start()`, then `wait()`; `cancel()` from any thread."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        on_line: LineSink,
        on_notice: NoticeSink | None = None,
        stderr_tail_lines: int = 400,
        launcher: Path | None = None,
        launcher_argv: Sequence[str] | None = None,
    ) -> None:
        """`launcher`: the warm launcher's socket, used when it answers, with `launcher_argv`
        (the arguments of `worker.run_child.main`); otherwise `argv` starts a fresh process."""
        self._argv = list(argv)
        self._cwd = cwd
        self._env = dict(env)
        self._on_line = on_line
        self._on_notice = on_notice
        self._tail: deque[str] = deque(maxlen=stderr_tail_lines)
        self._launcher = launcher
        self._launcher_argv = launcher_argv
        self._proc: subprocess.Popen[bytes] | _LaunchedChild | None = None
        self._readers: list[threading.Thread] = []
        self._cancel_requested = threading.Event()
        self._cancel_reason = ""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        self._cwd.mkdir(parents=True, exist_ok=True)
        warm = self._launcher is not None and self._launcher_argv is not None
        if warm and self._start_warm(self._launcher, self._launcher_argv):  # type: ignore[arg-type]
            return
        notice_read, notice_write = os.pipe()
        env = self._env | {"RUNYARD_NOTICE_FD": str(notice_write)}
        try:
            self._proc = subprocess.Popen(
                self._argv,
                cwd=self._cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(notice_write,),
                start_new_session=True,  # own process group: cancel reaches grandchildren too
            )
        finally:
            os.close(notice_write)  # the child holds the only write end now
        assert self._proc.stdout and self._proc.stderr
        self._spawn_reader(self._read_lines, self._proc.stdout, "stdout")
        self._spawn_reader(self._read_lines, self._proc.stderr, "stderr")
        self._spawn_reader(self._read_notices, os.fdopen(notice_read, "rb"), "notice")

    def _start_warm(self, launcher: Path, argv: Sequence[str]) -> bool:
        pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, notices
        child = _launch_warm(launcher, argv, self._cwd, self._env, [write for _, write in pipes])
        for _, write in pipes:
            os.close(write)  # the child holds the only write ends now
        if child is None:
            for read, _ in pipes:
                os.close(read)
            return False
        self._proc = child
        (out, _), (err, _), (notice, _) = pipes
        self._spawn_reader(self._read_lines, os.fdopen(out, "rb"), "stdout")
        self._spawn_reader(self._read_lines, os.fdopen(err, "rb"), "stderr")
        self._spawn_reader(self._read_notices, os.fdopen(notice, "rb"), "notice")
        return True

    def _spawn_reader(self, target: Callable[..., None], pipe: IO[bytes], name: str) -> None:
        thread = threading.Thread(target=target, args=(pipe, name), name=f"run-{name}", daemon=True)
        thread.start()
        self._readers.append(thread)

    def _read_lines(self, pipe: IO[bytes], stream: Literal["stdout", "stderr"]) -> None:
        pump_lines(pipe, stream, self._on_line, self._tail)

    def _read_notices(self, pipe: IO[bytes], _name: str) -> None:
        pump_notices(pipe, self._on_notice)

    def signal_main(self, number: int) -> None:
        """Send a signal to the run's main process only (not the rest of its group)."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self._proc.pid, number)

    def cancel(self, grace_seconds: float, reason: str = "canceled") -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after `grace_seconds`."""
        self._cancel_reason = reason
        self._cancel_requested.set()
        if self._proc is None:
            return
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=grace_seconds)
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        # The group may be gone already; that is the goal, not an error.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def wait(self, timeout: float | None = None) -> ChildExit:
        assert self._proc is not None, "start() first"
        returncode = self._proc.wait(timeout=timeout)
        # Grandchildren the user code left behind (dataloader workers...) must not keep the
        # slots busy after the run ends.
        self._signal_group(signal.SIGKILL)
        deadline = time.monotonic() + 10
        for reader in self._readers:
            reader.join(timeout=max(0.0, deadline - time.monotonic()))
        return self._classify(returncode)

    def _classify(self, returncode: int) -> ChildExit:
        canceled = self._cancel_requested.is_set()
        reason = (self._cancel_reason or "canceled") if canceled else None
        return classify_exit(returncode, self._tail, canceled=reason)
