"""Collecting `__init__` arguments for `save_hyperparameters`, and turning hparams into plain
dicts that checkpoints can hold under `torch.load(weights_only=True)`."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Mapping
from types import FrameType
from typing import Any

from trainer_core.attribute_dict import AttributeDict
from trainer_core.exceptions import MisconfigurationException


def init_args_of_frame(frame: FrameType) -> dict[str, Any]:
    """The named arguments (and **kwargs entries) of the function running in `frame`, less its
    first one (`self`, whatever it is called)."""
    code = frame.f_code
    n_named = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[1 if code.co_argcount else 0 : n_named])
    local_vars = frame.f_locals
    args = {name: local_vars[name] for name in names if name in local_vars and name != "__class__"}
    varkw_index = n_named + (1 if code.co_flags & inspect.CO_VARARGS else 0)
    if code.co_flags & inspect.CO_VARKEYWORDS:
        extra = local_vars.get(code.co_varnames[varkw_index], {})
        args.update(extra)
    return args


def is_config_container(value: Any) -> bool:
    """An OmegaConf DictConfig/ListConfig (kept as it is in `hparams`, as Lightning 1.0 does)."""
    try:
        from omegaconf import Container
    except ImportError:
        return False
    return isinstance(value, Container)


def name_of_object_in_frame(obj: Any, frame: FrameType) -> str | None:
    for name, value in frame.f_locals.items():
        if value is obj and name != "self":
            return name
    return None


def to_attribute_dict(value: Any) -> AttributeDict:
    """Dicts and Namespaces become an AttributeDict (what `self.hparams` returns); an OmegaConf
    config stays the config it is."""
    if is_config_container(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, argparse.Namespace):
        return AttributeDict(vars(value))
    if isinstance(value, Mapping):
        return AttributeDict(dict(value))
    raise MisconfigurationException(
        f"hparams must be a dict or argparse.Namespace, got {type(value).__name__}; "
        "call self.save_hyperparameters() in __init__ instead."
    )


def plain_hparams(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """A copy made only of builtin containers, so `weights_only=True` loading accepts it."""

    def plain(value: Any) -> Any:
        if is_config_container(value):
            from omegaconf import OmegaConf

            value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, argparse.Namespace):
            value = vars(value)
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        if value is None or isinstance(value, bool | int | float | str | bytes):
            return value
        import torch

        if isinstance(value, torch.Tensor | torch.dtype | torch.device):
            return value
        return repr(value)  # e.g. a class or a function: keep a readable trace, never code

    return {str(k): plain(v) for k, v in hparams.items()}


def drop_unpicklable(*hparams: Any) -> None:
    """Removes, with Lightning 1.0's warning, the values a checkpoint could not store (a lambda
    passed to `__init__`), so the module still rebuilds from what it keeps."""
    from trainer_core.utilities.distributed import rank_zero_warn
    from trainer_core.utilities.parsing import is_picklable

    for mapping in hparams:
        if not isinstance(mapping, dict):
            continue
        for key in [k for k, v in mapping.items() if not is_picklable(v)]:
            del mapping[key]
            rank_zero_warn(f"attribute '{key}' removed from hparams because it cannot be pickled")
