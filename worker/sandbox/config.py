"""Everything a sandbox pool needs to know, resolved once from the worker's settings."""

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from worker.process_group import INHERITED_ENV
from worker.sandbox.cgroup_layout import CgroupLayout, discover
from worker.sandbox.mounts import host_system, nvidia_devices, package_paths, python_paths
from worker.settings import WorkerSettings
from worker.warm_start import PRELOADED_MODULES


@dataclass(frozen=True)
class SandboxConfig:
    uids: range
    lock_dir: Path
    root: Path
    """Sandboxes' directories: <root>/u<uid>/{work,code,etc} (root-only)."""
    cgroups: CgroupLayout | None
    cgroup_note: str
    """What `cgroups` is, or why there are none (for logs and run pages)."""
    read_only: tuple[Path, ...]
    """Python environment, run packages, extra paths."""
    system_dirs: tuple[Path, ...]
    system_links: tuple[tuple[str, Path], ...]
    devices: tuple[Path, ...]
    protected: tuple[Path, ...]
    bwrap: str = "bwrap"
    setpriv: str = "setpriv"
    python: str = sys.executable
    preload: tuple[str, ...] = PRELOADED_MODULES
    spares: int = 1
    base_env: dict[str, str] = field(default_factory=dict)
    """The supervisor's environment (no secret: it is the sandbox's)."""

    @classmethod
    def from_settings(
        cls, settings: WorkerSettings, *, cgroups: tuple[CgroupLayout | None, str] | None = None
    ) -> "SandboxConfig":
        """`cgroups`: a layout to use instead of discovering (and delegating) one."""
        layout, note = discover(delegate=True) if cgroups is None else cgroups
        system_dirs, system_links = host_system()
        extra = tuple(p.resolve() for p in settings.sandbox_extra_paths)
        return cls(
            uids=settings.sandbox_uid_range,
            lock_dir=settings.sandbox_lock_dir,
            root=settings.sandbox_root,
            cgroups=layout,
            cgroup_note=note,
            read_only=(*python_paths(), *package_paths(), *extra),
            system_dirs=system_dirs,
            system_links=system_links,
            devices=nvidia_devices(),
            protected=tuple(
                p.resolve() for p in (settings.sandbox_root, settings.work_dir, settings.spool_dir)
            ),
            bwrap=shutil.which(settings.sandbox_bwrap) or settings.sandbox_bwrap,
            setpriv=shutil.which("setpriv") or "setpriv",
            python=settings.python or sys.executable,
            spares=settings.sandbox_spares,
            base_env={k: os.environ[k] for k in INHERITED_ENV if k in os.environ},
        )
