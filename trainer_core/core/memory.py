"""`ModelSummary` (Lightning 1.0's `core.memory`): layers, types, parameter counts and, when the
module has an `example_input_array`, each layer's input and output sizes.

`LightningModule.summarize(mode)` returns one; `str()` of it is the table the Trainer prints
for `weights_summary='top'|'full'`. Sizes are nested lists of ints, `"?"` where unknown.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from trainer_core.core.summary import human_count
from trainer_core.exceptions import MisconfigurationException
from trainer_core.utilities.apply_func import move_data_to_device

UNKNOWN_SIZE = "?"


def parse_batch_shape(batch: Any) -> Any:
    """A tensor's shape as a list; lists/tuples element by element; anything else unknown."""
    if hasattr(batch, "shape"):
        return list(batch.shape)
    if isinstance(batch, list | tuple):
        return [parse_batch_shape(item) for item in batch]
    return UNKNOWN_SIZE


class LayerSummary:
    """One layer: its type, parameter count, and the sizes its first forward call saw."""

    def __init__(self, module: nn.Module) -> None:
        self._module = module
        self._in_size: Any = None
        self._out_size: Any = None
        self._hook_handle = module.register_forward_hook(self._record)

    def _record(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._in_size = parse_batch_shape(inputs[0] if len(inputs) == 1 else inputs)
        self._out_size = parse_batch_shape(output)
        self._hook_handle.remove()

    def detach_hook(self) -> None:
        self._hook_handle.remove()

    @property
    def in_size(self) -> Any:
        return self._in_size or UNKNOWN_SIZE

    @property
    def out_size(self) -> Any:
        return self._out_size or UNKNOWN_SIZE

    @property
    def layer_type(self) -> str:
        return type(self._module).__name__

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self._module.parameters())


class ModelSummary:
    """`mode='top'`: the module's direct children; `'full'`: every submodule."""

    MODE_TOP = "top"
    MODE_FULL = "full"
    MODE_DEFAULT = MODE_TOP
    MODES = [MODE_FULL, MODE_TOP]

    def __init__(self, model: nn.Module, mode: str = MODE_DEFAULT) -> None:
        if mode not in self.MODES:
            raise MisconfigurationException(
                f"ModelSummary(mode={mode!r}): use one of {self.MODES} (weights_summary='top'|'full')."
            )
        self._model = model
        self._mode = mode
        self._layer_summary = self.summarize()

    @property
    def named_modules(self) -> list[tuple[str, nn.Module]]:
        if self._mode == self.MODE_FULL:
            return [(name, m) for name, m in self._model.named_modules() if name]
        return list(self._model.named_children())

    @property
    def layer_names(self) -> list[str]:
        return list(self._layer_summary)

    @property
    def layer_types(self) -> list[str]:
        return [layer.layer_type for layer in self._layer_summary.values()]

    @property
    def in_sizes(self) -> list[Any]:
        return [layer.in_size for layer in self._layer_summary.values()]

    @property
    def out_sizes(self) -> list[Any]:
        return [layer.out_size for layer in self._layer_summary.values()]

    @property
    def param_nums(self) -> list[int]:
        return [layer.num_parameters for layer in self._layer_summary.values()]

    def summarize(self) -> OrderedDict[str, LayerSummary]:
        layers = OrderedDict((name, LayerSummary(m)) for name, m in self.named_modules)
        if getattr(self._model, "example_input_array", None) is not None:
            self._forward_example_input()
        for layer in layers.values():
            layer.detach_hook()
        return layers

    def _forward_example_input(self) -> None:
        model = self._model
        example = model.example_input_array
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        example = move_data_to_device(example, device)
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                if isinstance(example, list | tuple):
                    model(*example)
                elif isinstance(example, dict):
                    model(**example)
                else:
                    model(example)
        finally:
            model.train(training)

    def __str__(self) -> str:
        columns: list[tuple[str, list[str]]] = [
            ("", [str(i) for i in range(len(self._layer_summary))]),
            ("Name", self.layer_names),
            ("Type", self.layer_types),
            ("Params", [human_count(n) for n in self.param_nums]),
        ]
        if getattr(self._model, "example_input_array", None) is not None:
            columns.append(("In sizes", [str(s) for s in self.in_sizes]))
            columns.append(("Out sizes", [str(s) for s in self.out_sizes]))
        widths = [max([len(title), *(len(v) for v in values)]) for title, values in columns]
        header = " | ".join(f"{title:<{w}}" for (title, _), w in zip(columns, widths, strict=True))
        lines = [header, "-" * len(header)]
        for row in range(len(self._layer_summary)):
            lines.append(
                " | ".join(
                    f"{values[row]:<{w}}" for (_, values), w in zip(columns, widths, strict=True)
                )
            )
        total = sum(p.numel() for p in self._model.parameters())
        trainable = sum(p.numel() for p in self._model.parameters() if p.requires_grad)
        lines.append("-" * len(header))
        lines.append(f"{human_count(trainable)} Trainable params")
        lines.append(f"{human_count(total - trainable)} Non-trainable params")
        lines.append(f"{human_count(total)} Total params")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)
