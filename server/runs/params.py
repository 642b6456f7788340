"""A run's flat params: every parameter of its effective spec under a dotted key, the way a
tracker shows hyperparameters. Pure functions; `run_param_rows` makes the table rows.

- `model.<arg>` / `datamodule.<arg>`: the init args (nested mappings go on with dots), and
  `model.class` / `datamodule.class` the entrypoint (`class` can never be an init arg name);
- `trainer.<setting>`: every trainer setting, defaults included;
- a searched value outside those (`resources.gpus_per_node`) under its own path.

Lists and deeper mappings stay one value. Numbers and booleans can be compared as numbers
(`value_num`), strings as text (`value_text`); `value` keeps the exact value.
"""

import json
import math
from typing import Any

MAX_KEY_LENGTH = 300
MAX_DEPTH = 6
MAX_TEXT = 1000
"""A longer text value is stored whole in `value` and cut to this in `value_text` (the
comparable copy)."""

_ENTRYPOINTS = ("model", "datamodule")


def flat_params(spec: dict[str, Any], searched: dict[str, Any]) -> dict[str, Any]:
    """The flat params of a run from its effective spec (JSON form) and its search values."""
    flat: dict[str, Any] = {}
    for section in _ENTRYPOINTS:
        part = spec.get(section)
        if isinstance(part, dict):
            if isinstance(part.get("entrypoint"), str):
                flat[f"{section}.class"] = part["entrypoint"]
            _flatten(flat, section, part.get("init_args") or {}, 1)
    trainer = spec.get("trainer")
    if isinstance(trainer, dict):
        _flatten(flat, "trainer", trainer, 1)
    for path, value in searched.items():
        key = _public_path(path)
        if key not in flat:
            flat[key] = value
    return {k: v for k, v in flat.items() if len(k) <= MAX_KEY_LENGTH}


def _public_path(path: str) -> str:
    for section in _ENTRYPOINTS:
        prefix = f"{section}.init_args."
        if path.startswith(prefix):
            return section + "." + path[len(prefix) :]
    return path


def _flatten(into: dict[str, Any], prefix: str, value: Any, depth: int) -> None:
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        for key, child in value.items():
            _flatten(into, f"{prefix}.{key}", child, depth + 1)
    elif isinstance(value, dict) and not value:
        return
    else:
        into[prefix] = value


def comparable(value: Any) -> tuple[float | None, str | None]:
    """(value_num, value_text) of a param value: numbers and booleans compare as numbers,
    strings as text, lists and mappings as their JSON text; None is neither."""
    if isinstance(value, bool):
        return float(value), "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        return (number if math.isfinite(number) else None), None
    if value is None:
        return None, None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None, text[:MAX_TEXT]
