"""Exporting a LightningModule: TorchScript (script or trace) and ONNX."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.core.metric_objects import is_metric_object
from trainer_core.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule


def _move_to(sample: Any, device: torch.device) -> Any:
    if isinstance(sample, torch.Tensor):
        return sample.to(device)
    if isinstance(sample, tuple | list):
        return type(sample)(_move_to(s, device) for s in sample)
    if isinstance(sample, dict):
        return {k: _move_to(v, device) for k, v in sample.items()}
    return sample


@contextlib.contextmanager
def _without_metric_children(module: torch.nn.Module) -> Iterator[None]:
    """Hide metric submodules while scripting: they hold training-time state, and their
    variadic `forward` cannot be compiled. The exported module does not need them."""
    removed: list[tuple[torch.nn.Module, str, torch.nn.Module]] = []
    for parent in module.modules():
        for name, child in list(parent._modules.items()):
            if child is not None and is_metric_object(child):
                removed.append((parent, name, child))
    for parent, name, _ in removed:
        del parent._modules[name]
    try:
        yield
    finally:
        for parent, name, child in removed:
            parent._modules[name] = child


def to_torchscript(
    module: LightningModule,
    file_path: str | None = None,
    method: str = "script",
    example_inputs: Any = None,
    **kwargs: Any,
) -> torch.jit.ScriptModule:
    """Script or trace `module` in eval mode, restore its mode, optionally save to `file_path`."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            if method == "script":
                with _without_metric_children(module):
                    scripted = torch.jit.script(module, **kwargs)
            elif method == "trace":
                sample = (
                    example_inputs if example_inputs is not None else module.example_input_array
                )
                if sample is None:
                    raise MisconfigurationException(
                        "to_torchscript(method='trace') needs example_inputs=... or model.example_input_array."
                    )
                sample = _move_to(sample, module.device)
                scripted = torch.jit.trace(
                    module, sample if isinstance(sample, tuple) else (sample,), **kwargs
                )
            else:
                raise MisconfigurationException(
                    f"to_torchscript(method={method!r}): use 'script' or 'trace'."
                )
    finally:
        module.train(was_training)
    if file_path is not None:
        directory = os.path.dirname(str(file_path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        torch.jit.save(scripted, str(file_path))
    return scripted


def to_onnx(
    module: LightningModule, file_path: str, input_sample: Any = None, **kwargs: Any
) -> None:
    """Export `module` to ONNX at `file_path` from `input_sample` or `example_input_array`."""
    sample = input_sample if input_sample is not None else module.example_input_array
    if sample is None:
        raise MisconfigurationException(
            "Could not export to ONNX since neither `input_sample` nor `model.example_input_array` "
            "attribute is set: pass input_sample=... or set model.example_input_array."
        )
    if input_sample is not None and not isinstance(input_sample, torch.Tensor | tuple):
        # 1.0's words; a tuple holds the inputs of a forward that takes several
        raise MisconfigurationException(
            f"Received `input_sample` of type {type(input_sample)}. Expected type is `Tensor` "
            "(or a tuple of the forward's inputs)."
        )
    sample = _move_to(sample, module.device)
    args = sample if isinstance(sample, tuple) else (sample,)
    # The TorchScript-based exporter is fast and needs no extra packages; dynamo=True opts in
    # to the newer exporter.
    kwargs.setdefault("dynamo", False)
    kwargs.setdefault("input_names", ["input"])
    kwargs.setdefault("output_names", ["output"])
    was_training = module.training
    module.eval()
    try:
        directory = os.path.dirname(str(file_path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(module, args, str(file_path), **kwargs)
    finally:
        module.train(was_training)
