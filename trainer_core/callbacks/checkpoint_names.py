"""How a `ModelCheckpoint` file-name template expands (Lightning 1.0's spelling).

Each `{name}` or `{name:spec}` becomes `name=value`: `'{epoch:03d}-{val_loss:.2f}'` gives
`epoch=003-val_loss=0.12`. A name that is not among the metrics reads 0; tensors are read as
numbers, so a file name never shows `tensor(...)`.
"""

from __future__ import annotations

import re
from typing import Any

import torch

_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][\w./-]*)(:[^}]*)?\}")


def expand_template(template: str, epoch: int, step: int, metrics: dict[str, Any]) -> str:
    values: dict[str, Any] = {k: as_number(v) for k, v in metrics.items()}
    values["epoch"], values["step"] = epoch, step

    def expand(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2) or ""
        value = values.get(name, 0)
        if spec and "d" in spec and isinstance(value, float):
            value = int(value)  # '{val_acc:02d}' of a float metric
        return f"{name}={format(value, spec[1:] if spec else '')}"

    return _TEMPLATE_FIELD.sub(expand, template)


def as_number(value: Any) -> Any:
    """A metric value as a number (strings and other values pass through)."""
    if isinstance(value, torch.Tensor):
        return float(value.item())
    return float(value) if isinstance(value, (int, float)) else value
