"""Training modules that attack the stack from inside a run, as a hostile team member's code
would. Each attempt is printed as one line, `PROBE {"probe": ..., "reached": ..., "detail": ...}`,
for the isolation tests to read back from the run's logs; the run itself then completes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from tests.worker.tiny_models import TinyClassifier


def _report(probe: str, reached: bool, detail: str) -> None:
    print("PROBE " + json.dumps({"probe": probe, "reached": reached, "detail": detail[:300]}))


def _read(probe: str, path: str) -> None:
    try:
        data = Path(path).read_bytes()
        _report(probe, True, f"read {len(data)} bytes of {path}")
    except OSError as exc:
        _report(probe, False, f"{type(exc).__name__}: {exc}")


def _redis(host: str, port: int) -> None:
    """Speaks RESP by hand (no client library needed): PING, then an XADD of a forged event."""
    try:
        with socket.create_connection((host, port), timeout=3) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            answer = conn.recv(200).decode(errors="replace").strip()
            forged = b"*5\r\n$4\r\nXADD\r\n$14\r\nrunyard:events\r\n$1\r\n*\r\n$4\r\ndata\r\n"
            conn.sendall(forged + b"$2\r\n{}\r\n")
            second = conn.recv(200).decode(errors="replace").strip()
        _report("redis", answer == "+PONG", f"PING -> {answer}; XADD -> {second}")
    except OSError as exc:
        _report("redis", False, f"{type(exc).__name__}: {exc}")


class Prober(TinyClassifier):
    """Tries to read `paths`, other processes' environments, and Redis at `redis`."""

    def __init__(self, paths: dict[str, str], redis: list | None = None, lr: float = 0.1) -> None:
        super().__init__(lr)
        for probe, path in paths.items():
            _read(probe, path)
        visible = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        _report("processes", len(visible) > 10, f"sees pids {visible[:20]}")
        stolen = []
        for pid in visible:
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if pid != os.getpid() and (b"RUNYARD_WORKER_TOKEN" in environ or b"REDIS" in environ):
                stolen.append(pid)
        _report("environ", bool(stolen), f"credentials found in the environment of {stolen}")
        if redis:
            _redis(str(redis[0]), int(redis[1]))
        print("TOKEN " + os.environ.get("RUNYARD_RUN_TOKEN", ""), flush=True)


class Escaper(TinyClassifier):
    """Leaves processes behind: one that called setsid, one double-forked, both sleeping with
    `marker` in their command line."""

    def __init__(self, marker: str, linger: float = 0.0, lr: float = 0.1) -> None:
        super().__init__(lr)
        sleeper = f"import time; time.sleep(3600)  # {marker}"
        subprocess.Popen([sys.executable, "-c", sleeper], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                os.execv(sys.executable, [sys.executable, "-c", sleeper])
            os._exit(0)
        print(f"ESCAPED {marker}", flush=True)
        time.sleep(linger)  # keeps the run alive, for the cancel case (the workload)


class MemoryHog(TinyClassifier):
    """Allocates (and touches) far more memory than its limit."""

    def training_step(self, batch, batch_idx):
        hoard = []
        for _ in range(64):
            hoard.append(torch.ones(64 * 1024 * 1024 // 4))  # 64 MiB, written
        return super().training_step(batch, batch_idx) + 0 * len(hoard)
