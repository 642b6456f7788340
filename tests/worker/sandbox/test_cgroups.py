"""Finding the worker's cgroups and choosing the layout for run cgroups (from /proc text)."""

from pathlib import Path

from worker.sandbox.cgroup_layout import discover, parse_mountinfo, parse_proc_cgroup
from worker.sandbox.cgroups import join_command

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = """\
8:pids:/
6:freezer:/
4:memory:/jobs/42
0::/
"""


def test_cgroup_mounts_and_own_cgroups_are_read_from_proc():
    mounts = {m.point: m for m in parse_mountinfo(HYBRID_MOUNTINFO)}
    assert set(mounts) == {
        Path("/sys/fs/cgroup/memory"),
        Path("/sys/fs/cgroup/freezer"),
        Path("/sys/fs/cgroup/pids"),
        Path("/sys/fs/cgroup/unified"),
    }
    assert mounts[Path("/sys/fs/cgroup/unified")].fstype == "cgroup2"
    assert "memory" in mounts[Path("/sys/fs/cgroup/memory")].options
    assert parse_proc_cgroup(HYBRID_CGROUP) == {
        "pids": "/",
        "freezer": "/",
        "memory": "/jobs/42",
        "": "/",
    }


def test_joining_happens_in_the_process_before_it_executes_the_command():
    class Fake:
        procs_files = [Path("/cg/memory/x/cgroup.procs"), Path("/cg/pids/x/cgroup.procs")]

    argv = join_command(Fake(), ["bwrap", "--", "python"])  # type: ignore[arg-type]
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[3:] == [
        "sh",
        "/cg/memory/x/cgroup.procs",
        "/cg/pids/x/cgroup.procs",
        "--",
        "bwrap",
        "--",
        "python",
    ]
    assert join_command(None, ["bwrap"]) == ["bwrap"]


def _hierarchy(tmp_path: Path, v2_controllers: str) -> tuple[str, str]:
    for controller in ("memory", "pids", "freezer"):
        (tmp_path / controller / "jobs").mkdir(parents=True)
    worker = tmp_path / "unified" / "jobs"
    worker.mkdir(parents=True)
    (worker / "cgroup.controllers").write_text(v2_controllers + "\n")
    (worker / "cgroup.subtree_control").write_text(v2_controllers + "\n")
    mountinfo = (
        "".join(
            f"3{i} 31 0:3{i} / {tmp_path / c} rw - cgroup cgroup rw,{c}\n"
            for i, c in enumerate(("memory", "pids", "freezer"))
        )
        + f"41 31 0:38 / {tmp_path / 'unified'} rw - cgroup2 cgroup2 rw\n"
    )
    proc = "8:pids:/jobs\n6:freezer:/jobs\n4:memory:/jobs\n0::/jobs\n"
    return mountinfo, proc


def test_cgroup_v2_with_memory_and_pids_is_preferred(tmp_path):
    layout, _note = discover(*_hierarchy(tmp_path, "cpu memory pids"))
    assert layout is not None and layout.version == 2 and layout.limits
    assert layout.parents == {"": tmp_path / "unified" / "jobs"}


def test_cgroup_v1_is_used_where_v2_lacks_the_controllers(tmp_path):
    layout, _note = discover(*_hierarchy(tmp_path, "hugetlb"))
    assert layout is not None and layout.version == 1 and layout.limits
    assert layout.parents["memory"] == tmp_path / "memory" / "jobs"
    assert set(layout.parents) == {"memory", "pids", "freezer"}
