"""Sandbox fixtures: real bubblewrap, real uids, real cgroups (the tests run as root).

Pools here preload nothing unless a test needs torch in its sandbox: a sandbox then costs a
Python start-up, not a torch import.
"""

import os
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from worker.process_group import ChildExit
from worker.sandbox import Limits, SandboxConfig, SandboxPool, SandboxProcess, probe
from worker.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[3]


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "sandbox tests need root (per-run uids, namespaces, cgroups)"
    capabilities = probe(WorkerSettings(work_dir=Path("/tmp/ry-probe"), spool_dir=Path("/tmp")))
    if not capabilities.can_sandbox:
        return "this machine cannot sandbox: " + "; ".join(capabilities.missing)
    return None


SKIP_REASON = _why_not()
needs_sandbox = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def worker_settings(tmp_path: Path, **extra: object) -> WorkerSettings:
    return WorkerSettings(
        work_dir=tmp_path / "work",
        spool_dir=tmp_path / "spool",
        sandbox_extra_paths=[REPO / "tests"],
        **extra,  # type: ignore[arg-type]
    )


def sandbox_config(
    tmp_path: Path, *, extra_read_only: tuple[Path, ...] = (), **changes: object
) -> SandboxConfig:
    config = SandboxConfig.from_settings(worker_settings(tmp_path))
    changes = {"preload": (), "spares": 0, **changes}
    return replace(config, read_only=(*config.read_only, *extra_read_only), **changes)  # type: ignore[arg-type]


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


class Sandboxes:
    """Acquires sandboxes from a pool and releases every one of them after the test."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool
        self.acquired: list[SandboxProcess] = []

    def acquire(self) -> SandboxProcess:
        process = self.pool.acquire()
        self.acquired.append(process)
        return process

    def python(
        self,
        code: str,
        *,
        process: SandboxProcess | None = None,
        limits: Limits | None = None,
        lease_seconds: float | None = None,
        env: dict[str, str] | None = None,
    ) -> tuple[SandboxProcess, Recorder]:
        """Start `code` with the environment's Python in a (new) sandbox."""
        process = process or self.acquire()
        recorder = Recorder()
        process.start(
            argv=[sys.executable, "-c", textwrap.dedent(code)],
            env={"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"} | (env or {}),
            on_line=recorder.on_line,
            on_notice=recorder.on_notice,
            limits=limits,
            lease_seconds=lease_seconds,
        )
        return process, recorder

    def run(self, code: str, **kwargs: object) -> tuple[ChildExit, Recorder, SandboxProcess]:
        process, recorder = self.python(code, **kwargs)  # type: ignore[arg-type]
        return process.wait(timeout=120), recorder, process

    def release_all(self) -> None:
        for process in self.acquired:
            process.release()


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    pool = SandboxPool(sandbox_config(tmp_path))
    pool.start()
    held = Sandboxes(pool)
    yield held
    held.release_all()
    pool.close()


def live_processes_of(uid: int) -> list[int]:
    """Processes (not zombies: those hold nothing) running under `uid`, seen on the host."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            found.append(int(entry.name))
    return found
