"""What a sandboxed run can reach: its own processes, its work directory, a private /tmp, the
read-only code and environment, the network; nothing of the worker's, the stack's or another
run's."""

import json
import os
import socket
import stat
import subprocess
import uuid

import pytest

from tests.worker.polling import wait_for
from tests.worker.sandbox.conftest import REPO, Sandboxes, needs_sandbox, sandbox_config
from worker.sandbox import SandboxPool

pytestmark = needs_sandbox


def test_a_run_sees_only_its_own_processes(sandboxes):
    result, rec, _ = sandboxes.run(
        """
        import os, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        print(os.getpid(), child.pid)
        child.kill()
        """
    )
    assert result.outcome == "completed", rec.lines
    pids = json.loads(rec.text()[0])
    me, child = map(int, rec.text()[1].split())
    # PID 1 is the sandbox's supervisor; then the run and the child it started.
    assert pids == [1, me, child]


def test_a_run_runs_as_its_own_unprivileged_uid(sandboxes):
    result, rec, process = sandboxes.run(
        """
        import os
        status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
        print(os.getuid(), os.getgid(), os.getgroups(), status["CapEff"].strip(),
              status["NoNewPrivs"].strip())
        """
    )
    assert result.outcome == "completed", rec.lines
    uid, gid, _groups, caps, nnp = rec.text()[0].split(" ", 4)
    assert int(uid) == int(gid) == process.uid
    assert process.uid not in (0, os.getuid())
    assert caps == "0000000000000000" and nnp.endswith("1")
    work = process.work_dir.stat()
    assert (work.st_uid, stat.S_IMODE(work.st_mode)) == (process.uid, 0o700)


def test_a_run_cannot_read_the_environment_of_host_processes(sandboxes):
    secret = f"ry_worker_{uuid.uuid4().hex}"
    host = subprocess.Popen(["sleep", "60"], env={"RUNYARD_WORKER_TOKEN": secret})
    try:
        result, rec, _ = sandboxes.run(
            f"""
            import os
            found = []
            for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["{host.pid}", "{os.getpid()}"]:
                try:
                    found.append(open(f"/proc/{{pid}}/environ", "rb").read())
                except OSError:
                    pass
            print(any({secret!r}.encode() in blob for blob in found))
            """
        )
    finally:
        host.kill()
        host.wait()
    assert result.outcome == "completed", rec.lines
    assert rec.text() == ["False"]


def test_a_run_cannot_read_another_runs_work_directory(sandboxes):
    other = sandboxes.acquire()
    (other.work_dir / "checkpoint.ckpt").write_text("weights of another project")
    process = sandboxes.acquire()
    result, rec, _ = sandboxes.run(
        f"""
        import os
        for path in ({str(other.work_dir / "checkpoint.ckpt")!r}, {str(other.work_dir)!r}):
            try:
                open(path).read() if path.endswith(".ckpt") else os.listdir(path)
                print("READ", path)
            except OSError as exc:
                print(type(exc).__name__)
        print(os.listdir({str(other.root.parent)!r}))
        """,
        process=process,
    )
    assert result.outcome == "completed", rec.lines
    assert rec.text()[:2] == ["FileNotFoundError", "FileNotFoundError"]
    # Of the sandboxes' directory, a run sees only its own sandbox.
    assert rec.text()[2] == str([process.root.name])


@pytest.fixture
def stack_secrets(tmp_path):
    """A root-only admin token in a directory runs may read, and a world-readable database in
    a data directory next to the package directories (which runs may not see)."""
    readable = tmp_path / "readable-code"
    readable.mkdir()
    token = readable / "admin-token"
    token.write_text("ry_admin_secret")
    token.chmod(0o600)
    data_dir = REPO / f".runyard-sandbox-test-{uuid.uuid4().hex[:8]}"
    data_dir.mkdir()
    database = data_dir / "runyard.db"
    database.write_text("SQLite format 3")
    database.chmod(0o644)
    yield readable, token, database
    database.unlink()
    data_dir.rmdir()


def test_a_run_cannot_read_root_only_files_or_the_stack_data_directory(tmp_path, stack_secrets):
    readable, token, database = stack_secrets
    pool = SandboxPool(sandbox_config(tmp_path, extra_read_only=(readable,)))
    pool.start()
    held = Sandboxes(pool)
    try:
        result, rec, _ = held.run(
            f"""
            import json, os
            for path in ({str(token)!r}, {str(database)!r}):
                try:
                    open(path).read()
                    print("READ", path)
                except OSError as exc:
                    print(type(exc).__name__)
            print(json.dumps(os.listdir({str(REPO)!r})))
            """
        )
    finally:
        held.release_all()
        pool.close()
    assert result.outcome == "completed", rec.lines
    denied_token, missing_database, repo_listing = rec.text()
    assert denied_token == "PermissionError"  # visible (its directory is bound) but root's
    assert missing_database == "FileNotFoundError"
    # Only the package directories of the repository are there, not its data directory.
    assert set(json.loads(repo_listing)) <= {
        ".venv",
        "worker",
        "runyard",
        "trainer_core",
        "examples",
        "tests",
    }


def test_a_run_can_write_only_its_work_directory_tmp_and_shm(sandboxes):
    process = sandboxes.acquire()
    targets = {
        "work": str(process.work_dir),
        "tmp": "/tmp",
        "shm": "/dev/shm",
        "root": "/",
        "etc": "/etc",
        "usr": "/usr",
        "code": str(process.code_dir),
        "package": str(REPO / "worker"),
        "tests": str(REPO / "tests"),
        "environment": str(REPO / ".venv"),
        "sys": "/sys/kernel",
    }
    result, rec, _ = sandboxes.run(
        f"""
        import json, os
        writable = {{}}
        for name, directory in {targets!r}.items():
            try:
                with open(os.path.join(directory, "probe-{uuid.uuid4().hex[:6]}"), "w") as f:
                    f.write("x")
                writable[name] = True
            except OSError:
                writable[name] = False
        print(json.dumps(writable))
        """,
        process=process,
    )
    assert result.outcome == "completed", rec.lines
    writable = json.loads(rec.text()[0])
    assert {name for name, ok in writable.items() if ok} == {"work", "tmp", "shm"}


def test_each_run_has_a_private_tmp(sandboxes):
    marker = f"/tmp/ry-marker-{uuid.uuid4().hex}"
    first, rec, _ = sandboxes.run(f"open({marker!r}, 'w').write('a'); print('written')")
    assert first.outcome == "completed" and rec.text() == ["written"]
    second, rec, _ = sandboxes.run(f"import os; print(os.path.exists({marker!r}))")
    assert second.outcome == "completed" and rec.text() == ["False"]
    assert not os.path.exists(marker)


def test_the_code_directory_is_readable_but_not_writable(sandboxes):
    process = sandboxes.acquire()
    (process.code_dir / "my_model.py").write_text("NAME = 'bundled'\n")
    result, rec, _ = sandboxes.run(
        f"""
        import sys
        sys.path.insert(0, {str(process.code_dir)!r})
        import my_model
        print(my_model.NAME)
        try:
            open({str(process.code_dir / "my_model.py")!r}, "a").write("x")
        except OSError as exc:
            print(type(exc).__name__)
        """,
        process=process,
    )
    assert result.outcome == "completed", rec.lines
    imported, write_error = rec.text()
    assert imported == "bundled" and write_error in ("PermissionError", "OSError")


def test_the_host_network_stays_reachable(sandboxes):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        process, rec = sandboxes.python(
            f"""
            import socket
            socket.create_connection(("127.0.0.1", {port}), timeout=10).sendall(b"hello")
            """
        )
        listener.settimeout(60)
        conn, _ = listener.accept()
        with conn:
            assert wait_for(lambda: conn.recv(5), timeout=30, what="the run's bytes") == b"hello"
        assert process.wait(timeout=60).outcome == "completed", rec.lines
    finally:
        listener.close()


def test_output_notices_and_failures_are_reported_like_a_plain_child(sandboxes):
    result, rec, _ = sandboxes.run(
        """
        import json, os, sys
        print("out")
        print("err", file=sys.stderr)
        with os.fdopen(int(os.environ["RUNYARD_NOTICE_FD"]), "w") as notices:
            notices.write(json.dumps({"kind": "metrics", "n": 1}) + "\\n")
        def train():
            raise ValueError("bad lr")
        train()
        """
    )
    assert rec.text("stdout") == ["out"]
    assert rec.text("stderr")[0] == "err"
    assert rec.notices == [{"kind": "metrics", "n": 1}]
    assert result.outcome == "failed" and result.reason == "ValueError: bad lr"
    assert result.traceback and "in train" in result.traceback


def test_the_run_gets_the_environment_it_is_given_and_the_sandboxs_home(sandboxes):
    process = sandboxes.acquire()
    result, rec, _ = sandboxes.run(
        "import json, os; print(json.dumps(dict(os.environ))); print(os.getcwd())",
        process=process,
        env={"RUNYARD_RUN_TOKEN": "ry_run_token", "HOME": "/root"},
    )
    assert result.outcome == "completed", rec.lines
    env = json.loads(rec.text()[0])
    assert env["RUNYARD_RUN_TOKEN"] == "ry_run_token"
    assert env["HOME"] == str(process.work_dir) and env["USER"] == "runyard"
    assert rec.text()[1] == str(process.work_dir)
    assert not {k for k in env if "WORKER" in k or "REDIS" in k or "DATABASE" in k}


def test_a_run_can_neither_stop_nor_inspect_its_supervisor(sandboxes):
    result, rec, _ = sandboxes.run(
        """
        import os, signal
        for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT):
            os.kill(1, sig)  # PID 1 ignores signals from inside its namespace
        for name in ("environ", "mem", "fd/0"):
            try:
                open(f"/proc/1/{name}", "rb").read(1)
                print("READ", name)
            except OSError as exc:
                print(type(exc).__name__)
        print("still running")
        """
    )
    assert result.outcome == "completed", (result, rec.lines)
    assert rec.text() == ["PermissionError"] * 3 + ["still running"]
