"""The worker (root) reads a run's files without following what the run planted there."""

import os

import pytest

from worker.sandbox.errors import SandboxError
from worker.sandbox.files import open_inside


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    (work / "checkpoints").mkdir(parents=True)
    (work / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    secret = tmp_path / "admin-token"
    secret.write_text("ry_admin_secret")
    secret.chmod(0o600)
    return work, secret


def test_a_regular_file_below_the_work_directory_opens(work):
    root, _ = work
    with open_inside(root, "checkpoints/last.ckpt") as f:
        assert f.read() == b"weights"
    with open_inside(root, root / "checkpoints" / "last.ckpt") as f:
        assert f.read() == b"weights"


def test_a_symlink_planted_by_the_run_is_refused(work):
    root, secret = work
    (root / "checkpoints" / "best.ckpt").symlink_to(secret)
    (root / "outbox").symlink_to(secret.parent)
    with pytest.raises(SandboxError):
        open_inside(root, "checkpoints/best.ckpt")
    with pytest.raises(SandboxError):
        open_inside(root, f"outbox/{secret.name}")


@pytest.mark.parametrize("path", ["../admin-token", "/etc/passwd", ""])
def test_paths_leaving_the_work_directory_are_refused(work, path):
    root, _ = work
    with pytest.raises(SandboxError):
        open_inside(root, path)


def test_a_fifo_is_refused_without_blocking(work):
    root, _ = work
    os.mkfifo(root / "pipe.ckpt")
    with pytest.raises(SandboxError, match="regular file"):
        open_inside(root, "pipe.ckpt")
