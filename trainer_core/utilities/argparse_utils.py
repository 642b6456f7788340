"""Lightning 1.0's `utilities.argparse_utils`: the Trainer's command-line helpers as functions
of the class (`argparse_utils.add_argparse_args(Trainer, parser)` and so on)."""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from typing import Any

from trainer_core.trainer import argparse_flags


def add_argparse_args(cls: type, parent_parser: ArgumentParser) -> ArgumentParser:
    return argparse_flags.add_argparse_args(cls, parent_parser)


def from_argparse_args(cls: type, args: Namespace | ArgumentParser, **kwargs: Any) -> Any:
    return argparse_flags.from_argparse_args(cls, args, **kwargs)


def parse_argparser(cls: type, arg_parser: ArgumentParser | Namespace) -> Namespace:
    return argparse_flags.parse_argparser(cls, arg_parser)


def parse_env_variables(cls: type, template: str = "PL_%(cls_name)s_%(cls_argument)s") -> Namespace:
    return argparse_flags.parse_env_variables(cls, template)


_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


def get_init_arguments_and_types(cls: type) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(name, accepted types, default) of every constructor flag of `cls`; types that are not
    builtins stay as their annotation text."""
    out = []
    for name, annotation, default in argparse_flags.init_arguments(cls):
        parts = [part.strip() for part in annotation.replace("'", "").split("|")]
        out.append((name, tuple(_TYPES.get(part, part) for part in parts), default))
    return out
