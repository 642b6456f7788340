"""The bwrap argument builder (pure): an allow-list of binds in mount order, the run's
identity, and refusals of binds that would show the worker's or other runs' files."""

from pathlib import Path

import pytest

from worker.sandbox.errors import SandboxError
from worker.sandbox.mounts import MountPlan, bwrap_argv, host_system, package_paths

WORK = Path("/srv/runyard/work/sandboxes/u200001/work")
CODE = Path("/srv/runyard/work/sandboxes/u200001/code")


def plan(**changes) -> MountPlan:
    base = {
        "system_dirs": (Path("/usr"), Path("/etc")),
        "system_links": (("usr/bin", Path("/bin")), ("usr/lib", Path("/lib"))),
        "read_only": (
            Path("/opt/python3.11"),
            Path("/home/me/runyard/.venv"),
            Path("/home/me/runyard/.venv/lib/python3.11/site-packages"),
            Path("/home/me/runyard/worker"),
            CODE,
        ),
        "writable": (WORK,),
        "chdir": WORK,
        "files": ((WORK.parent / "etc/passwd", Path("/etc/passwd")),),
        "devices": (Path("/dev/nvidia0"), Path("/dev/nvidiactl")),
        "protected": (Path("/srv/runyard/work"), Path("/home/me/runyard/.runyard")),
    }
    return MountPlan(**(base | changes))


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def singles(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_namespaces_identity_and_command():
    argv = bwrap_argv(plan(), ["python", "-m", "x"], uid=200001, gid=200001, bwrap="/usr/bin/bwrap")
    assert argv[0] == "/usr/bin/bwrap"
    for flag in (
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--as-pid-1",
        "--new-session",
    ):
        assert flag in argv
    assert "--unshare-net" not in argv and "--unshare-all" not in argv  # the network stays
    tail = argv[argv.index("--remount-ro") :]
    assert tail[:4] == ["--remount-ro", "/", "--chdir", str(WORK)]
    assert tail[tail.index("--") + 1 :] == [
        "setpriv", "--reuid=200001", "--regid=200001", "--clear-groups", "--nnp",
        "--inh-caps=-all", "--bounding-set=-all", "--", "python", "-m", "x",
    ]  # fmt: skip


def test_only_the_work_directory_is_bound_writable():
    argv = bwrap_argv(plan(), ["true"], uid=1, gid=1)
    assert pairs(argv, "--bind") == [(str(WORK), str(WORK))]
    ro = [dest for _, dest in pairs(argv, "--ro-bind")]
    assert {"/usr", "/etc", "/sys", "/opt/python3.11", str(CODE), "/etc/passwd"} <= set(ro)
    # site-packages is inside the bound environment already.
    assert "/home/me/runyard/.venv/lib/python3.11/site-packages" not in ro
    assert set(singles(argv, "--tmpfs")) == {"/tmp", "/dev/shm"}
    assert pairs(argv, "--dev-bind") == [("/dev/nvidia0", "/dev/nvidia0"), ("/dev/nvidiactl",) * 2]
    assert pairs(argv, "--symlink") == [("usr/bin", "/bin"), ("usr/lib", "/lib")]


def test_mounts_come_after_their_parents_and_mount_points_are_traversable():
    argv = bwrap_argv(plan(), ["true"], uid=1, gid=1)
    order = {}
    for i, arg in enumerate(argv):
        if arg in ("--ro-bind", "--bind", "--dev-bind", "--symlink"):
            order.setdefault(argv[i + 2], i)
        elif arg in ("--tmpfs", "--dir", "--proc", "--dev"):
            order.setdefault(argv[i + 1], i)
    for dest, position in order.items():
        for parent in Path(dest).parents:
            if str(parent) in order:
                assert order[str(parent)] < position, f"{parent} is mounted after {dest}"
    # Directories bubblewrap creates on its way get mode 0755 (not root's 0700).
    created = singles(argv, "--dir")
    assert {"/srv", "/srv/runyard", "/home", "/home/me/runyard"} <= set(created)
    for directory in created:
        assert argv[argv.index(directory) - 3 : argv.index(directory) - 1] == ["--perms", "0755"]
    assert "/tmp" not in created and "/usr" not in created


def test_private_tmp_and_shm_are_world_writable_with_the_sticky_bit():
    argv = bwrap_argv(plan(), ["true"], uid=1, gid=1)
    for directory in ("/tmp", "/dev/shm"):
        at = argv.index(directory)
        assert argv[at - 3 : at] == ["--perms", "1777", "--tmpfs"]


def test_work_directory_under_tmp_is_bound_after_the_private_tmp():
    work = Path("/tmp/pytest/sandboxes/u7/work")
    argv = bwrap_argv(plan(writable=(work,), chdir=work, protected=()), ["true"], uid=7, gid=7)
    assert argv.index("/tmp") < argv.index("/tmp/pytest") < argv.index(str(work))


@pytest.mark.parametrize(
    "bad",
    [Path("/srv/runyard"), Path("/home/me/runyard"), Path("/")],
    ids=["parent of the sandboxes", "the repository (holds .runyard)", "everything"],
)
def test_binds_that_would_show_protected_directories_are_refused(bad):
    with pytest.raises(SandboxError):
        bwrap_argv(plan(read_only=(bad,)), ["true"], uid=1, gid=1)


def test_this_machines_system_layout_and_package_directories():
    dirs, links = host_system()
    assert Path("/usr") in dirs and Path("/etc") in dirs
    for target, link in links:
        assert Path(link).is_symlink() and not target.startswith("/proc")
    packages = package_paths()
    assert {p.name for p in packages} >= {"worker", "runyard", "trainer_core"}
    repo = Path(__file__).resolve().parents[3]
    assert repo not in packages  # the package directories, never the repository
