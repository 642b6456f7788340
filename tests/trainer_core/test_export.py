"""Exports give the eager model's outputs: TorchScript (script and trace) and ONNX
(checked with onnxruntime)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import trainer_core as pl
from tests.trainer_core.models import RegressionModel


@pytest.fixture
def model() -> RegressionModel:
    model = RegressionModel(hidden=8)
    model.eval()
    return model


@pytest.mark.parametrize("method", ["script", "trace"])
def test_torchscript_export_matches_eager_outputs(
    model: RegressionModel, method: str, tmp_path: Any
) -> None:
    sample = torch.randn(5, 4)
    path = tmp_path / f"model_{method}.pt"
    model.to_torchscript(file_path=str(path), method=method)
    loaded = torch.jit.load(str(path))
    torch.testing.assert_close(loaded(sample), model(sample))


def test_torchscript_export_restores_training_mode(model: RegressionModel) -> None:
    model.train()
    model.to_torchscript()
    assert model.training


def test_onnx_export_matches_eager_outputs_in_onnxruntime(
    model: RegressionModel, tmp_path: Any
) -> None:
    ort = pytest.importorskip("onnxruntime")
    sample = torch.randn(2, 4)
    path = tmp_path / "model.onnx"
    model.to_onnx(str(path), sample)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: sample.numpy()})
    np.testing.assert_allclose(output, model(sample).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_onnx_export_without_a_sample_says_how_to_give_one(tmp_path: Any) -> None:
    class NoSample(RegressionModel):
        def __init__(self) -> None:
            super().__init__()
            self.example_input_array = None

    with pytest.raises(pl.MisconfigurationException, match="example_input_array"):
        NoSample().to_onnx(str(tmp_path / "m.onnx"))


def test_onnx_export_names_a_sample_that_is_not_a_tensor(tmp_path: Any) -> None:
    import numpy as np

    with pytest.raises(ValueError, match=r"Received `input_sample` of type .*ndarray.*`Tensor`"):
        RegressionModel().to_onnx(str(tmp_path / "m.onnx"), np.zeros((2, 4)))


def test_trace_without_a_sample_says_how_to_give_one() -> None:
    model = RegressionModel()
    model.example_input_array = None
    with pytest.raises(pl.MisconfigurationException, match="example_inputs"):
        model.to_torchscript(method="trace")


def test_freeze_turns_off_gradients_and_sets_eval(model: RegressionModel) -> None:
    model.train()
    model.freeze()
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    model.unfreeze()
    assert model.training and all(p.requires_grad for p in model.parameters())
