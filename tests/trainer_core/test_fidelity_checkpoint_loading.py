"""Loading checkpoints as Lightning 1.0 does: from http(s) URLs, with `strict=False`, and with
the hyperparameter keys named on the module."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import torch
from torch import nn

from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.utilities import cloud_io


@pytest.fixture
def checkpoint_file(tmp_path: Any) -> str:
    trainer = quiet_trainer(tmp_path, limit_train_batches=2, logger=False)
    trainer.fit(RegressionModel(hidden=6), loader(), loader())
    path = str(tmp_path / "saved.ckpt")
    trainer.save_checkpoint(path)
    return path


@pytest.fixture
def served_dir(tmp_path: Any) -> Iterator[str]:
    """A real HTTP server on localhost serving tmp_path; yields its base URL."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


def test_a_checkpoint_loads_from_an_http_url(checkpoint_file: str, served_dir: str) -> None:
    from_url = cloud_io.load(f"{served_dir}/saved.ckpt")
    assert from_url["global_step"] == cloud_io.load(checkpoint_file)["global_step"]
    model = RegressionModel.load_from_checkpoint(f"{served_dir}/saved.ckpt")
    assert model.hparams.hidden == 6


def test_an_unknown_remote_scheme_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="http"):
        cloud_io.load("s3://bucket/x.ckpt")


class WithExtraLayer(RegressionModel):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra = nn.Linear(2, 2)


def test_strict_false_loads_the_matching_weights_and_strict_true_raises_runtime_error(
    checkpoint_file: str,
) -> None:
    model = WithExtraLayer.load_from_checkpoint(checkpoint_file, strict=False)
    saved = cloud_io.load(checkpoint_file)["state_dict"]
    assert torch.equal(model.net[0].weight, saved["net.0.weight"])
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "extra.weight"'):
        WithExtraLayer.load_from_checkpoint(checkpoint_file, strict=True)


def test_the_hyperparameters_key_is_named_on_the_module_and_old_keys_still_load(
    checkpoint_file: str, tmp_path: Any
) -> None:
    checkpoint = cloud_io.load(checkpoint_file)
    assert checkpoint[RegressionModel.CHECKPOINT_HYPER_PARAMS_KEY]["hidden"] == 6
    assert RegressionModel.CHECKPOINT_HYPER_PARAMS_NAME in checkpoint
    checkpoint["module_arguments"] = checkpoint.pop(RegressionModel.CHECKPOINT_HYPER_PARAMS_KEY)
    old_style = str(tmp_path / "old.ckpt")
    torch.save(checkpoint, old_style)
    assert RegressionModel.load_from_checkpoint(old_style).hparams.hidden == 6


def test_save_top_k_zero_with_a_monitor_and_save_last_keeps_only_last(tmp_path: Any) -> None:
    from trainer_core.callbacks import ModelCheckpoint

    checkpoint = ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_loss", save_top_k=0, save_last=True
    )
    trainer = quiet_trainer(tmp_path, limit_train_batches=2, logger=False, callbacks=[checkpoint])
    trainer.fit(RegressionModel(), loader(), loader())
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.ckpt"]
    assert checkpoint.best_model_path == ""
