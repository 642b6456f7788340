"""What this machine offers for sandboxing runs, with reasons a person can act on, and the
worker's start-up policy: refuse to start where runs cannot be isolated, unless the operator
chose RUNYARD_WORKER_ISOLATION=none (then say so, loudly)."""

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from worker.sandbox.cgroup_layout import CgroupLayout, discover
from worker.sandbox.errors import IsolationUnavailable, SandboxError
from worker.sandbox.identity import allocate_uid
from worker.sandbox.mounts import MountPlan, bwrap_argv, host_system
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

# Bits of /proc/self/status CapEff.
CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN = 6, 7, 21

NO_ISOLATION_WARNING = (
    "RUNYARD_WORKER_ISOLATION=none: runs on this worker are NOT isolated. Their code runs as "
    "the worker's own user and can read the worker's token and environment, other runs' "
    "files and anything else this user can reach. Use this only on a machine where every "
    "submitter is trusted."
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


@dataclass(frozen=True)
class Capabilities:
    checks: tuple[Check, ...]
    cgroups: CgroupLayout | None

    @property
    def can_sandbox(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    @property
    def missing(self) -> list[str]:
        return [c.detail for c in self.checks if c.required and not c.ok]

    def describe(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks)


def effective_capabilities(status: str | None = None) -> int:
    status = Path("/proc/self/status").read_text() if status is None else status
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def _privileges() -> Check:
    caps = effective_capabilities()
    needed = {"CAP_SYS_ADMIN": CAP_SYS_ADMIN, "CAP_SETUID": CAP_SETUID, "CAP_SETGID": CAP_SETGID}
    lacking = [name for name, bit in needed.items() if not caps & (1 << bit)]
    if os.geteuid() == 0 and not lacking:
        return Check("privileges", True, "root with CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID")
    who = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    return Check(
        "privileges",
        False,
        f"the worker runs as {who}"
        + (f" without {', '.join(lacking)}" if lacking else "")
        + ": it must be root with CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID to give each run "
        "its own uid and namespaces (in compose: privileged, or cap_add SYS_ADMIN with "
        "seccomp and AppArmor unconfined; see the README's Security model)",
    )


def _tool(name: str, path: str, package: str) -> Check:
    found = shutil.which(path)
    if found:
        return Check(name, True, found)
    return Check(name, False, f"{path} not found: install Debian's {package} package")


def _trial(settings: WorkerSettings, bwrap: str, setpriv: str) -> Check:
    """Start a real (empty) sandbox: the one test that covers kernel, container and policy."""
    try:
        identity = allocate_uid(settings.sandbox_uid_range, settings.sandbox_lock_dir)
    except SandboxError as exc:
        return Check("sandbox uids", False, str(exc))
    try:
        dirs, links = host_system()
        plan = MountPlan(dirs, links, read_only=(), writable=(), chdir=Path("/"))
        argv = bwrap_argv(
            plan, ["/bin/true"], uid=identity.uid, gid=identity.gid, bwrap=bwrap, setpriv=setpriv
        )
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("namespaces", False, f"bubblewrap could not run: {exc}")
    finally:
        identity.release()
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        return Check(
            "namespaces",
            False,
            f"a trial sandbox failed ({message[-1] if message else f'status {result.returncode}'}"
            "): the worker needs to create PID, mount, IPC and UTS namespaces and mount "
            "(a container must allow it: see the README's Security model)",
        )
    return Check("namespaces", True, f"PID and mount namespaces, uids {settings.sandbox_uids}")


def probe(settings: WorkerSettings) -> Capabilities:
    checks = [
        _tool("bubblewrap", settings.sandbox_bwrap, "bubblewrap"),
        _tool("setpriv", "setpriv", "util-linux"),
        _privileges(),
    ]
    for path in settings.sandbox_extra_paths:
        if not path.is_dir():
            checks.append(
                Check(
                    "extra paths",
                    False,
                    f"RUNYARD_WORKER_SANDBOX_EXTRA_PATHS: {path} is not a directory",
                )
            )
    if all(c.ok for c in checks):
        checks.append(_trial(settings, shutil.which(settings.sandbox_bwrap) or "", "setpriv"))
    layout, note = discover()
    limits = layout is not None and layout.limits
    checks.append(Check("cgroups", limits, note, required=False))
    return Capabilities(tuple(checks), layout)


def enforce_isolation_policy(settings: WorkerSettings) -> Capabilities | None:
    """At worker start: the capabilities when runs will be sandboxed; None (after a loud
    warning) with isolation 'none'; IsolationUnavailable, naming what is missing and the
    escape, when runs cannot be sandboxed here."""
    if settings.isolation == "none":
        log.warning(NO_ISOLATION_WARNING)
        return None
    capabilities = probe(settings)
    if not capabilities.can_sandbox:
        raise IsolationUnavailable(
            "this worker cannot sandbox runs, so it will not start: "
            + "; ".join(capabilities.missing)
            + ". Fix that, or set RUNYARD_WORKER_ISOLATION=none to run without isolation "
            "(only where every submitter is trusted: runs can then read the worker's "
            "secrets and each other's files)."
        )
    log.info("runs are sandboxed: %s", capabilities.describe())
    if capabilities.cgroups is None or not capabilities.cgroups.limits:
        log.warning("runs get no memory or process limits here: %s", capabilities.checks[-1].detail)
    return capabilities
