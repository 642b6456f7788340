"""A warm launcher for run children: a process that has already imported torch, trainer_core
and the run child, and forks a fresh child per run. Starting a run then costs a fork instead
of a Python start-up plus a multi-second torch import.

Protocol (one Unix-socket connection per run): the worker sends one JSON line
`{"argv": [...], "cwd": ...}` together with four file descriptors (via SCM_RIGHTS): the write
ends of the child's stdout, stderr and notice pipes, and the read end of a pipe carrying the
child's environment as JSON. The launcher answers `{"pid": n}` once the child is forked and
`{"returncode": n}` (negative: killed by that signal) when it exits.

Secrets never pass through the launcher: the environment (with the run-scoped token) goes
from the worker straight to the forked child through its own pipe, so no other run's child
can find it in memory it inherited. The launcher itself starts with a scrubbed environment.
The child starts its own session (the worker signals its whole group), reseeds its random
generators (a fork would otherwise share the launcher's state with every sibling), and never
initialises CUDA before its CUDA_VISIBLE_DEVICES is set, because the launcher never does.
"""

import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

NOTICE_FD = 3  # where the notice pipe lands in the child (as with Popen's pass_fds)

# Imported before any request, so every forked child finds them in memory. torch imports
# torch._dynamo lazily when the first optimizer is built (seconds), and the exports need
# torch.onnx and onnxruntime: take those costs once, in the launcher. Nothing here runs a
# tensor op, so no thread pool exists yet to be broken by fork.
PRELOADED_MODULES = (
    "torch",
    "torch._dynamo",
    "torch.onnx",
    "onnxruntime",
    "trainer_core",
    "worker.run_child",
)


def preload(modules: tuple[str, ...] = PRELOADED_MODULES) -> None:
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            continue  # an optional extra; the child imports it itself if it needs it


def exit_as_run_child(argv: list[str], cwd: str, env: dict[str, str]) -> NoReturn:
    """In a child just forked from a preloaded process, whose fds 0-2 and NOTICE_FD are in
    place: become `python -m worker.run_child <argv>` in `cwd` with exactly `env`, then exit
    with its status. Never returns."""
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env | {"RUNYARD_NOTICE_FD": str(NOTICE_FD)})
        # What `python -m` in that directory with that PYTHONPATH would have on sys.path.
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [cwd, *(p for p in extra if p not in sys.path)]
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        import random

        import numpy
        import torch

        random.seed()
        numpy.random.seed()
        torch.seed()
        from worker import run_child

        # Look like `python -m worker.run_child <plan>`: trainer_core's ddp launcher re-runs
        # "this script" for each extra local device, and must not re-run the launcher.
        sys.argv = [run_child.__file__, *argv]
        sys.modules["__main__"] = run_child
        code = run_child.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _child(request: dict[str, Any], fds: list[int]) -> NoReturn:
    """Runs in the forked child; never returns."""
    try:
        os.setsid()
        stdout, stderr, notice, env_pipe = fds
        with os.fdopen(env_pipe, "rb") as source:
            env = json.loads(source.read())
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.dup2(notice, NOTICE_FD)
        for fd in (stdout, stderr, notice):
            if fd not in (1, 2, NOTICE_FD):
                os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.closerange(NOTICE_FD + 1, 1 << 16)  # the launcher's socket and other runs' pipes
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(1)
    exit_as_run_child(request["argv"], request["cwd"], env)


def _serve_one(conn: socket.socket) -> None:
    with conn:
        message, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 4)
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            _child(request, fds)
        for fd in fds:
            os.close(fd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        conn.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")


def _exit_with_parent(parent: int) -> None:
    """The launcher lives only as long as its worker (which may die by SIGKILL)."""
    while os.getppid() == parent:
        threading.Event().wait(1.0)
    os._exit(0)


def serve(path: Path) -> None:
    preload()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(64)
    print(f"warm launcher ready on {path}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve_one, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
