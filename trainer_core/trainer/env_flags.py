"""Trainer flags from the environment (Lightning 1.0): `PL_TRAINER_<FLAG>` (upper-case flag
name; `PL_<CLASS>_<FLAG>` for a subclass) overrides the value the constructor was given, so a
launcher can set `PL_TRAINER_MAX_STEPS=7` without touching the script.

A value reads as a Python literal (`7`, `False`, `[0, 1]`), else it stays the string it is
(`argparse_flags.literal_or_text`).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

from trainer_core.trainer.argparse_flags import literal_or_text

_Init = TypeVar("_Init", bound=Callable[..., None])


def overwrite_by_env_vars(init: _Init) -> _Init:
    """Wrap a constructor: positional flags become keywords, then the environment's win
    (`PL_<CLASS>_<FLAG>` for the flags this constructor takes)."""
    names = [
        n
        for n, p in inspect.signature(init).parameters.items()
        if p.kind is p.POSITIONAL_OR_KEYWORD
    ][1:]

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        cls_name = type(self).__name__
        if len(args) > len(names):
            raise TypeError(f"{cls_name}() takes {len(names)} flags, {len(args)} were given")
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls_name}() got two values for {name!r}")
            kwargs[name] = value
        for name in names:
            text = os.environ.get(f"PL_{cls_name.upper()}_{name.upper()}")
            if text:
                kwargs[name] = literal_or_text(text)
        init(self, **kwargs)

    return wrapper  # type: ignore[return-value]
