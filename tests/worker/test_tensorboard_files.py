"""Packing a run's TensorBoard folder: only its regular files go, so a symlink the run's code
planted never makes the worker upload a file the run could not read itself."""

import os
import tarfile

from worker.tensorboard_files import pack_event_files


def names(archive) -> list[str]:
    with tarfile.open(archive) as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile())


def test_the_event_files_are_packed_with_their_relative_paths(tmp_path):
    folder = tmp_path / "tensorboard" / "attempt-1"
    folder.mkdir(parents=True)
    (folder / "events.out.tfevents.1").write_bytes(b"event")
    (folder / "hparams.yaml").write_text("lr: 0.1\n")
    archive = pack_event_files(tmp_path, "tensorboard", tmp_path / "tb.tar.gz")
    assert names(archive) == ["attempt-1/events.out.tfevents.1", "attempt-1/hparams.yaml"]


def test_symlinks_are_left_out(tmp_path):
    secret = tmp_path / "worker-token"
    secret.write_text("ry_worker_secret")
    folder = tmp_path / "tensorboard"
    folder.mkdir()
    (folder / "events.out.tfevents.1").write_bytes(b"event")
    os.symlink(secret, folder / "stolen")
    os.symlink(tmp_path, folder / "everything")
    archive = pack_event_files(tmp_path, "tensorboard", tmp_path / "tb.tar.gz")
    assert names(archive) == ["events.out.tfevents.1"]
    with tarfile.open(archive) as tar:
        assert all(m.isfile() or m.isdir() for m in tar.getmembers())


def test_nothing_to_pack_is_none(tmp_path):
    assert pack_event_files(tmp_path, "absent", tmp_path / "tb.tar.gz") is None
    (tmp_path / "empty").mkdir()
    assert pack_event_files(tmp_path, "empty", tmp_path / "tb.tar.gz") is None


def test_a_folder_over_the_size_cap_is_not_packed(tmp_path):
    folder = tmp_path / "tensorboard"
    folder.mkdir()
    (folder / "events.out.tfevents.1").write_bytes(b"x" * 2048)
    assert pack_event_files(tmp_path, "tensorboard", tmp_path / "tb.tar.gz", max_bytes=1024) is None
