"""Building and launching one sandbox: a uid, its directories, its cgroup, and bubblewrap
running the supervisor. Called only from the pool's spawner thread (see pool.py)."""

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from worker.sandbox.cgroups import RunCgroup, join_command
from worker.sandbox.config import SandboxConfig
from worker.sandbox.identity import SandboxIdentity, allocate_uid
from worker.sandbox.mounts import MountPlan, bwrap_argv
from worker.sandbox.process import SANDBOX_USER, SandboxPipes, SandboxProcess

# The sandbox's view of the accounts: itself and root, not the machine's users.
_PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    "{user}:x:{uid}:{uid}:Runyard run:{home}:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
_GROUP = "root:x:0:\n{user}:x:{uid}:\nnogroup:x:65534:\n"


def sandbox_dir(config: SandboxConfig, uid: int) -> Path:
    return config.root / f"u{uid}"


def prepare_directories(config: SandboxConfig, uid: int) -> tuple[Path, Path, Path, Path]:
    """<root>/u<uid> (root only) with work/ (the uid's, 700), code/ (root's, readable by the
    uid's group) and etc/ (its passwd and group). Leftovers of a dead worker are removed:
    holding the uid's lock with no process under it, nobody else uses them."""
    config.root.mkdir(parents=True, exist_ok=True)
    os.chmod(config.root, 0o700)
    sandbox = sandbox_dir(config, uid)
    if sandbox.exists():
        shutil.rmtree(sandbox)
    sandbox.mkdir(mode=0o700)
    work, code, etc = sandbox / "work", sandbox / "code", sandbox / "etc"
    work.mkdir(mode=0o700)
    os.chown(work, uid, uid)
    code.mkdir(mode=0o750)
    os.chown(code, -1, uid)
    etc.mkdir(mode=0o755)
    (etc / "passwd").write_text(_PASSWD.format(user=SANDBOX_USER, uid=uid, home=work))
    (etc / "group").write_text(_GROUP.format(user=SANDBOX_USER, uid=uid))
    for name in ("passwd", "group"):
        os.chmod(etc / name, 0o644)
    return sandbox, work, code, etc


def spawn_sandbox(config: SandboxConfig, *, background: bool) -> SandboxProcess:
    """A new sandbox whose supervisor starts preloading now. `background`: preload at idle
    priority (a spare; the run it gets is raised to normal priority)."""
    identity = allocate_uid(config.uids, config.lock_dir)
    cgroup: RunCgroup | None = None
    inside: list[int] = []
    outside: list[int] = []
    try:
        sandbox, work, code, etc = prepare_directories(config, identity.uid)
        if config.cgroups is not None:
            cgroup = config.cgroups.create(f"runyard-u{identity.uid}")
        # control flows in (the sandbox reads); status and the run's output flow out.
        control, status, stdout, stderr, notice = (os.pipe() for _ in range(5))
        inside = [control[0], status[1], stdout[1], stderr[1], notice[1]]
        outside = [control[1], status[0], stdout[0], stderr[0], notice[0]]
        control_in, status_in, stdout_in, stderr_in, notice_in = inside
        command = [
            config.python,
            "-P",  # the work directory (writable by the run) is not on the supervisor's path
            "-m",
            "worker.sandbox.supervisor",
            f"--control={control_in}",
            f"--status={status_in}",
            f"--stdout={stdout_in}",
            f"--stderr={stderr_in}",
            f"--notice={notice_in}",
            f"--preload={','.join(config.preload)}",
            *(["--background"] if background else []),
        ]
        plan = MountPlan(
            system_dirs=config.system_dirs,
            system_links=config.system_links,
            read_only=(*config.read_only, code),
            writable=(work,),
            chdir=work,
            files=((etc / "passwd", Path("/etc/passwd")), (etc / "group", Path("/etc/group"))),
            devices=config.devices,
            protected=config.protected,
        )
        argv = bwrap_argv(
            plan,
            command,
            uid=identity.uid,
            gid=identity.gid,
            bwrap=config.bwrap,
            setpriv=config.setpriv,
        )
        env = config.base_env | {
            "HOME": str(work),
            "USER": SANDBOX_USER,
            "LOGNAME": SANDBOX_USER,
            "TMPDIR": "/tmp",
        }
        bwrap = subprocess.Popen(
            join_command(cgroup, argv),
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            pass_fds=inside,  # everything else is closed in the sandbox
        )
    except BaseException:
        for fd in outside:
            with contextlib.suppress(OSError):
                os.close(fd)
        _undo(identity, cgroup, config, identity.uid)
        raise
    finally:
        for fd in inside:
            os.close(fd)  # the sandbox holds the only copies of its ends now
    return SandboxProcess(
        identity=identity,
        root=sandbox,
        work_dir=work,
        code_dir=code,
        cgroup=cgroup,
        cgroup_note=config.cgroup_note,
        bwrap=bwrap,
        pipes=SandboxPipes(*outside),
    )


def _undo(
    identity: SandboxIdentity, cgroup: RunCgroup | None, config: SandboxConfig, uid: int
) -> None:
    if cgroup is not None:
        with contextlib.suppress(Exception):
            cgroup.kill_all()
            cgroup.remove()
    shutil.rmtree(sandbox_dir(config, uid), ignore_errors=True)
    identity.release()
