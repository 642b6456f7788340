"""A run's child process: streamed output, classified exits, cancel by process group, and an
environment that carries only what the run needs."""

import json
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.worker.polling import wait_for
from worker.process_group import RunProcess, child_environment


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.notices: list[dict] = []
        self._lock = threading.Lock()

    def on_line(self, stream: str, line: str) -> None:
        with self._lock:
            self.lines.append((stream, line))

    def on_notice(self, notice: dict) -> None:
        with self._lock:
            self.notices.append(notice)

    def text(self, stream: str = "stdout") -> list[str]:
        with self._lock:
            return [line for s, line in self.lines if s == stream]


def start(
    tmp_path: Path, code: str, *, env_extra: dict | None = None
) -> tuple[RunProcess, Recorder]:
    recorder = Recorder()
    env = child_environment(
        slots=["0", "1"],
        use_gpus=True,
        run_id="run-1",
        attempt=1,
        server_url="http://server",
        run_token="ry_run_secret",
        extra=env_extra,
    )
    proc = RunProcess(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path / "work",
        env=env,
        on_line=recorder.on_line,
        on_notice=recorder.on_notice,
    )
    proc.start()
    return proc, recorder


def test_output_lines_stream_while_the_child_still_runs(tmp_path):
    proc, rec = start(
        tmp_path,
        """
        import time
        print("first", flush=True)
        while True: time.sleep(0.05)
        """,
    )
    wait_for(lambda: "first" in rec.text(), what="the first line before exit")
    proc.cancel(grace_seconds=1)
    assert proc.wait(timeout=10).outcome == "canceled"


def test_clean_exit_is_completed_with_stdout_and_stderr_separated(tmp_path):
    proc, rec = start(tmp_path, "import sys; print('out'); print('err', file=sys.stderr)")
    result = proc.wait(timeout=20)
    assert result.outcome == "completed"
    assert rec.text("stdout") == ["out"] and rec.text("stderr") == ["err"]


def test_raising_user_code_fails_with_its_traceback(tmp_path):
    proc, _ = start(tmp_path, "def train():\n    raise ValueError('bad lr')\ntrain()")
    result = proc.wait(timeout=20)
    assert result.outcome == "failed"
    assert result.reason == "ValueError: bad lr"
    assert result.traceback and "in train" in result.traceback


def test_segfault_is_reported_as_killed_by_sigsegv(tmp_path):
    proc, _ = start(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    result = proc.wait(timeout=20)
    assert result.outcome == "killed"
    assert result.signal == signal.SIGSEGV
    assert "SIGSEGV" in result.reason


def test_sigkill_from_outside_mentions_the_out_of_memory_killer(tmp_path):
    proc, rec = start(tmp_path, "import time\nprint('up', flush=True)\nwhile True: time.sleep(1)")
    wait_for(lambda: rec.text(), what="the child to start")
    os.kill(proc.pid, signal.SIGKILL)
    result = proc.wait(timeout=20)
    assert result.outcome == "killed" and "out-of-memory" in result.reason


def test_cancel_kills_a_child_that_ignores_sigterm_and_its_grandchildren(tmp_path):
    proc, rec = start(
        tmp_path,
        """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        print(child.pid, flush=True)
        while True: time.sleep(0.05)
        """,
    )
    grandchild = int(wait_for(lambda: rec.text(), what="the grandchild pid")[0])
    proc.cancel(grace_seconds=0.5, reason="canceled by alice")
    result = proc.wait(timeout=10)
    assert result.outcome == "canceled" and result.reason == "canceled by alice"

    def grandchild_gone() -> bool:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return True
        # A zombie awaiting its reaper counts as gone: it holds no memory or device.
        status = Path(f"/proc/{grandchild}/status").read_text()
        return "State:\tZ" in status

    wait_for(grandchild_gone, timeout=10, what="the grandchild to die")


def test_child_sees_its_slots_token_and_workdir_but_no_worker_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNYARD_WORKER_TOKEN", "ry_worker_secret")
    monkeypatch.setenv("RUNYARD_DATABASE_URL", "postgresql://secret")
    monkeypatch.setenv("RUNYARD_WORKER_REDIS_URL", "redis://secret")
    proc, rec = start(
        tmp_path,
        """
        import json, os
        print(json.dumps({"cwd": os.getcwd(), "env": dict(os.environ)}))
        """,
    )
    assert proc.wait(timeout=20).outcome == "completed"
    seen = json.loads(rec.text()[0])
    assert seen["cwd"] == str(tmp_path / "work")
    env = seen["env"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["RUNYARD_RUN_TOKEN"] == "ry_run_secret"
    assert not {k for k in env if "WORKER" in k or "DATABASE" in k or "REDIS" in k}
    assert "secret" not in json.dumps({k: v for k, v in env.items() if k != "RUNYARD_RUN_TOKEN"})


def test_cpu_only_run_sees_no_gpu_even_on_a_gpu_slot():
    env = child_environment(
        slots=["3"], use_gpus=False, run_id="r", attempt=1, server_url="s", run_token="t", base={}
    )
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_notices_written_to_the_notice_fd_reach_the_parent(tmp_path):
    proc, rec = start(
        tmp_path,
        """
        import json, os
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as fd:
            fd.write(json.dumps({"kind": "metrics", "n": 1}) + "\\n")
            fd.write("not json\\n")
            fd.write(json.dumps({"kind": "metrics", "n": 2}) + "\\n")
        """,
    )
    assert proc.wait(timeout=20).outcome == "completed"
    assert [n["n"] for n in rec.notices] == [1, 2]


@pytest.mark.parametrize("code", ["raise SystemExit(3)", "import sys; sys.exit('no data')"])
def test_nonzero_exit_without_traceback_still_says_why(tmp_path, code):
    proc, _ = start(tmp_path, code)
    result = proc.wait(timeout=20)
    assert result.outcome == "failed" and "exited with status" in result.reason
